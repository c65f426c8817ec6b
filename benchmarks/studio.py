"""Benchmark the studio's steering round trip: `python -m benchmarks.studio`.

Serves a scratch session on a free port (uvicorn, as `evodrum studio` does) and
times real HTTP requests from a client: a latent slider move (/api/decode), an
attribute slider move and a palette drag (/api/palette). Goal: under 30 ms.
"""
from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.timing import once


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50, help="requests per figure")
    args = parser.parse_args(argv)
    import httpx
    import uvicorn

    from evodrum.cli.studio import HOST, free_port
    from evodrum.interactive.breeding import new_session
    from evodrum.interactive.models import open_space
    from evodrum.interactive.session import Settings
    from evodrum.studio.api import make_app
    from evodrum.studio.state import Studio, directions_of

    space = open_space(Settings())
    session = new_session(Settings(seed=1), space)
    studio = Studio(session, Path(tempfile.mkdtemp(prefix="evodrum-bench-")), space,
                    directions_of(space))
    port, token = free_port(), "bench"
    server = uvicorn.Server(uvicorn.Config(make_app(studio, token, {f"{HOST}:{port}"}),
                                           host=HOST, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    rng = np.random.default_rng(0)
    base = session.shown()[0].genotype
    ids = [lp.id for lp in session.shown()[:4]]
    cases = {
        "latent slider (/api/decode)": lambda: ("/api/decode", {
            "genotype": (base + rng.normal(0, 0.3, base.shape)).tolist()}),
        "attribute slider (/api/decode)": lambda: ("/api/decode", {
            "genotype": base.tolist(), "attributes": {"all.density": float(rng.uniform(-2, 2))}}),
        "palette drag (/api/palette)": lambda: ("/api/palette", {
            "corners": ids, "x": float(rng.random()), "y": float(rng.random())}),
    }
    with httpx.Client(base_url=f"http://{HOST}:{port}",
                      headers={"X-Evodrum-Token": token}) as client:
        for label, make in cases.items():
            requests = [make() for _ in range(args.n)]
            times = [1000 * once(lambda r=r: client.post(r[0], json=r[1]).raise_for_status())
                     for r in requests]
            print(f"{label:32} median {np.median(times):5.1f} ms, "
                  f"90th percentile {np.percentile(times, 90):5.1f} ms")
    server.should_exit = True
    thread.join()


if __name__ == "__main__":
    main()
