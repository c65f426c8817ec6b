"""Benchmark the studio: `python -m benchmarks.studio`.

- start: `evodrum studio` until its page answers, CPU from /proc (goal <= 1.5 s CPU);
- breeds: a breed's CPU in a session of 0, 100 and 200 breeds, the session saved
  after each (goal: after 200 within 1.3x of the first);
- steering: a scratch session served on a free port (uvicorn, as `evodrum studio`
  does), real HTTP requests timed from a client: a latent slider move (/api/decode),
  an attribute slider move and a palette drag (/api/palette). Goal: under 30 ms.
"""
from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.timing import once


def start_cpu() -> None:
    """CPU of `evodrum studio` from launch until its page answers (Linux /proc)."""
    import os
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    def cpu(pid: int) -> float:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "evodrum", "studio", "--no-browser",
                                 "--port", "0", "--out", f"{out}/s"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        url = next(line.split()[1] for line in proc.stdout if line.startswith("open http"))
        for _ in range(6000):
            try:
                urllib.request.urlopen(url, timeout=10).read()
                break
            except urllib.error.HTTPError:    # it answered (a redirect to strip the token)
                break
            except OSError:                   # not listening yet
                time.sleep(0.01)
        print(f"studio start until the page answers: {cpu(proc.pid):.2f} s CPU "
              f"({time.perf_counter() - started:.2f} s wall); goal <= 1.5 s CPU")
        proc.terminate()
        proc.wait()


def breeds(n: int = 200) -> None:
    """A breed's CPU (saving included) as a session grows."""
    from evodrum.interactive.breeding import new_session
    from evodrum.interactive.models import open_space
    from evodrum.interactive.session import Settings
    from evodrum.runtime import single_thread
    from evodrum.studio.state import Studio
    single_thread()   # as `evodrum studio` runs
    space = open_space(Settings())
    with tempfile.TemporaryDirectory() as out:
        studio = Studio(new_session(Settings(seed=1), space), Path(out), space)
        cpu = []
        for _ in range(n + 5):
            start = time.process_time()
            studio.breed()
            cpu.append(1000 * (time.process_time() - start))
        size = (Path(out) / "session.json").stat().st_size
    first, mid, last = (float(np.median(cpu[i:i + 5])) for i in (0, n // 2, n))
    print(f"breed (CPU ms, median of 5): first {first:.1f}, after {n // 2} {mid:.1f}, after {n} "
          f"{last:.1f} = {last / first:.2f}x the first (goal <= 1.3x); session.json {size:,} bytes")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50, help="requests per figure")
    args = parser.parse_args(argv)
    start_cpu()
    breeds()
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
