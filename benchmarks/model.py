"""Speed figures for the README: `python -m benchmarks.model [--model PATH] [--threads N] [--no-train]`.

Measures decode throughput in batches of 10,000 loops, single-loop decode
latency, encode throughput, PCA decode, and the time of one training epoch over
the groove train split (or random loops of the same size when no corpus is
built). Each figure is the best and median of several repeats, since the
machine may be shared.
"""
from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch

from benchmarks.timing import measure

BATCH = 10_000
GOALS = {"decode": 250_000, "single_ms": 0.1, "epoch_s": 1.0}


def _timed(fn, repeats: int) -> list[float]:
    return measure(fn, repeats).times


def _line(name: str, best: float, median: float, unit: str, goal: str = "") -> str:
    return f"{name:<34} best {best:>12,.1f} {unit:<9} median {median:>12,.1f} {unit:<9} {goal}"


def bench_decode(model, repeats: int) -> list[str]:
    z = model.sample_latent(BATCH, rng=0)
    rate = [BATCH / t for t in _timed(lambda: model.decode(z), repeats)]
    # 1000 single-loop decodes per repeat: seconds per repeat x 1000 = microseconds per loop
    single = [t * 1e3 for t in _timed(lambda: [model.decode(z[i]) for i in range(1000)], repeats)]
    grids = model.decode(z)
    enc = [BATCH / t for t in _timed(lambda: model.encode(grids), repeats)]
    return [
        _line(f"decode {model.name}, batch {BATCH:,}", max(rate), statistics.median(rate),
              "loops/s", f"(goal >= {GOALS['decode']:,})"),
        _line(f"decode {model.name}, single loop", min(single), statistics.median(single),
              "us", f"(goal < {GOALS['single_ms'] * 1000:.0f} us)"),
        _line(f"encode {model.name}, batch {BATCH:,}", max(enc), statistics.median(enc),
              "loops/s"),
    ]


def bench_train(repeats: int) -> list[str]:
    from evodrum.errors import EvodrumError
    from evodrum.grid import DEFAULT_SPEC
    from vae.network import DrumVAE, LossWeights
    from vae.train import TrainConfig
    try:
        from evodrum.corpus import load_corpus
        train = load_corpus().split_grids("train")
        source = "groove train split"
    except EvodrumError:
        rng = np.random.default_rng(0)
        train = (rng.random((15_600, *DEFAULT_SPEC.shape)) < 0.13) * rng.random(
            (15_600, *DEFAULT_SPEC.shape))
        source = "random loops (no corpus built)"
    cfg = TrainConfig()
    x = torch.from_numpy(np.asarray(train, np.float32).reshape(len(train), -1))
    net = DrumVAE(cfg.arch(DEFAULT_SPEC))
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(0)
    weights = LossWeights()

    def epoch():
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), cfg.batch_size):
            loss = net.loss(x[perm[i:i + cfg.batch_size]], weights, 0, gen)["loss"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    times = _timed(epoch, repeats)
    return [_line(f"train epoch ({len(x):,} {source})", min(times), statistics.median(times), "s",
                  f"(goal < {GOALS['epoch_s']} s; batch {cfg.batch_size})")]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.model", description=__doc__)
    parser.add_argument("--model", default=None, help="model file [default: shipped model]")
    parser.add_argument("--threads", type=int, default=2, help="torch threads [default: 2]")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-train", action="store_true", help="skip the training epoch")
    args = parser.parse_args(argv)
    import vae
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread{'s' if args.threads != 1 else ''}")
    for line in bench_decode(vae.load_model(args.model), args.repeats):
        print(line, flush=True)
    for line in bench_decode(vae.load_default_pca(), args.repeats):
        print(line, flush=True)
    if not args.no_train:
        for line in bench_train(max(2, args.repeats // 2)):
            print(line, flush=True)


if __name__ == "__main__":
    main()
