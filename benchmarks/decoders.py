"""Which decoder could give prior samples a drummer's playability (issue 19, session 6).

Trains the shipped recipe's encoder (onsets + velocities, feel dropout 0.25, z 20,
h 400, lambda 0.5, early stopping) with one of three hit decoders, then measures the
issue's three playability figures, onset F1 and sample realism:

  factorised      the shipped decoder: one Bernoulli per cell given z
  mixture         per bar, a mixture of K Bernoulli bar shapes (exact likelihood);
                  decoded by taking each bar's most likely shape
  autoregressive  a GRU over the 64 steps: each step's 9 cells see z and every hit
                  before them (teacher forcing in training)

Decoding is deterministic (per-row thresholds giving samples the corpus's row
densities, a genotype -> phenotype map) or, for the factorised and autoregressive
decoders, drawn (each cell from its probability at temperature T: not a map, the
same code gives another loop each time). Samples are codes drawn from the aggregate
posterior of the training loops (what benchmarks.playability shows the learned
prior matches on these figures). The figures of session 6 are
runs/feel-model/decoders/*.json:

  python -m benchmarks.decoders autoregressive --patience 5 --out autoregressive.json
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from benchmarks.timing import cpu_seconds
from evodrum.atomic import write_text
from evodrum.corpus import load_corpus
from fitness.realism import fidelity_diversity, heldout_windows, jaccard_distances
from vae import feelmetrics, metrics

ROWS, HIDDEN, ZDIM, BATCH = 9, 400, 20, 128


class Encoder(nn.Module):
    """The shipped encoder: onsets and velocities side by side -> mean, log-variance."""

    def __init__(self, cells: int):
        super().__init__()
        self.hidden = nn.Linear(2 * cells, HIDDEN)
        self.out = nn.Linear(HIDDEN, 2 * ZDIM)

    def forward(self, x: torch.Tensor, known: torch.Tensor | float = 1.0):
        flat = x.flatten(1)
        return self.out(F.relu(self.hidden(torch.cat([(flat > 0).float(), flat * known], 1)))
                        ).chunk(2, -1)


class Factorised(nn.Module):
    """One Bernoulli per cell given z (the shipped hit head)."""

    def __init__(self, steps: int, bars: int):
        super().__init__()
        self.shape = (ROWS, steps)
        self.trunk = nn.Linear(ZDIM, HIDDEN)
        self.hits = nn.Linear(HIDDEN, ROWS * steps)

    def logits(self, z):
        return self.hits(F.relu(self.trunk(z))).view(-1, *self.shape)

    def nll(self, z, y):
        return F.binary_cross_entropy_with_logits(self.logits(z), y, reduction="none").sum((1, 2))

    def decode(self, z, cut):
        p = torch.sigmoid(self.logits(z))
        return p >= cut[:, None], p

    def draw(self, z, temperature, generator):
        p = torch.sigmoid(self.logits(z) / temperature)
        return torch.rand(p.shape, generator=generator) < p


class BarMixture(nn.Module):
    """Per bar, a mixture of K Bernoulli shapes: a bar is one coherent choice (a backbeat
    bar, a fill of one kind), not cells averaged over the choices."""

    def __init__(self, steps: int, bars: int, shapes: int):
        super().__init__()
        self.k, self.bars, self.per_bar = shapes, bars, steps // bars
        self.trunk = nn.Linear(ZDIM, HIDDEN)
        self.hits = nn.Linear(HIDDEN, shapes * ROWS * steps)
        self.weights = nn.Linear(HIDDEN, bars * shapes)

    def _heads(self, z):
        h = F.relu(self.trunk(z))
        return (self.hits(h).view(-1, self.k, ROWS, self.bars, self.per_bar),
                self.weights(h).view(-1, self.bars, self.k))

    def nll(self, z, y):
        logits, weights = self._heads(z)
        target = y.view(-1, 1, ROWS, self.bars, self.per_bar).expand_as(logits)
        per_shape = -F.binary_cross_entropy_with_logits(logits, target,
                                                         reduction="none").sum((2, 4))
        weights = torch.log_softmax(weights, -1).transpose(1, 2)
        return -torch.logsumexp(per_shape + weights, 1).sum(1)

    def decode(self, z, cut):
        logits, weights = self._heads(z)
        choice = weights.argmax(-1).view(-1, 1, 1, self.bars, 1).expand(-1, 1, ROWS, -1,
                                                                          self.per_bar)
        p = torch.sigmoid(logits).gather(1, choice)[:, 0].reshape(len(z), ROWS, -1)
        return p >= cut[:, None], p


class Autoregressive(nn.Module):
    """A GRU over the steps: step t's cells see z, the step's position and the hits of
    step t - 1 (and through the state, all before)."""

    def __init__(self, steps: int, bars: int, state: int = 256, position: int = 16):
        super().__init__()
        self.steps = steps
        self.start = nn.Linear(ZDIM, state)
        self.position = nn.Embedding(steps, position)
        self.cell = nn.GRUCell(ROWS + position, state)
        self.out = nn.Linear(state + ZDIM, ROWS)

    def _run(self, z, choose):
        """Logits (N, 9, steps) and hits, each step's hits chosen by `choose(t, logits)`."""
        state, previous, logits, hits = torch.tanh(self.start(z)), z.new_zeros(len(z), ROWS), [], []
        for t in range(self.steps):
            where = self.position.weight[t].expand(len(z), -1)
            state = self.cell(torch.cat([previous, where], 1), state)
            logits.append(self.out(torch.cat([state, z], 1)))
            previous = choose(t, logits[-1]).float()
            hits.append(previous)
        return torch.stack(logits, 2), torch.stack(hits, 2)

    def nll(self, z, y):
        logits, _ = self._run(z, lambda t, _: y[:, :, t])
        return F.binary_cross_entropy_with_logits(logits, y, reduction="none").sum((1, 2))

    def decode(self, z, cut):
        logits, hits = self._run(z, lambda t, lg: torch.sigmoid(lg) >= cut)
        return hits > 0, torch.sigmoid(logits)

    def draw(self, z, temperature, generator):
        return self._run(z, lambda t, lg: torch.rand(lg.shape, generator=generator)
                         < torch.sigmoid(lg / temperature))[1] > 0


def build(name: str, steps: int, bars: int, shapes: int) -> nn.Module:
    if name == "mixture":
        return BarMixture(steps, bars, shapes)
    return {"factorised": Factorised, "autoregressive": Autoregressive}[name](steps, bars)


def train(encoder, decoder, grids, validation, beta, patience, max_epochs=100):
    """Adam 1e-3, batch 128, early stopping on the validation loss; the best weights kept."""
    params = [*encoder.parameters(), *decoder.parameters()]
    opt = torch.optim.Adam(params, 1e-3)

    def loss(x, dropout):
        known = (torch.rand(len(x), 1) >= dropout).float()
        mu, logvar = encoder(x, known)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        kl = (-0.5 * (1 + logvar - mu ** 2 - logvar.exp())).sum(1)
        return (decoder.nll(z, (x > 0).float()) + beta * kl).mean()

    best, stale, kept, start = float("inf"), 0, None, cpu_seconds()
    for epoch in range(max_epochs):
        for batch in torch.randperm(len(grids)).split(BATCH):
            opt.zero_grad()
            loss(grids[batch], 0.25).backward()
            opt.step()
        with torch.no_grad():
            torch.manual_seed(1000 + epoch)
            value = loss(validation, 0.0).item()
        print(f"epoch {epoch}: validation loss {value:.2f} "
              f"({cpu_seconds() - start:.0f} s CPU)", flush=True)
        if value < best - 1e-3:
            best, stale, kept = value, 0, [p.detach().clone() for p in params]
        elif (stale := stale + 1) >= patience:
            break
    with torch.no_grad():
        for p, q in zip(params, kept):
            p.copy_(q)
    return {"best_validation_loss": round(best, 2), "epochs": epoch + 1}


def calibrate(decoder, codes, density, rounds=8):
    """Per-row thresholds at which decoded samples get the corpus's row densities; an
    autoregressive decoder's hits change its later probabilities, so this is iterated
    (damped) until the densities settle."""
    cut = torch.full((ROWS,), 0.5)
    for _ in range(rounds):
        _, p = decoder.decode(codes, cut)
        wanted = torch.tensor([np.quantile(row, 1 - d) for row, d in
                               zip(p.transpose(0, 1).flatten(1).numpy(), density)])
        cut = 0.5 * (cut + wanted.float())
    return cut


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("decoder", choices=("factorised", "mixture", "autoregressive"))
    parser.add_argument("--shapes", type=int, default=4, help="bar shapes of the mixture")
    parser.add_argument("--beta", type=float, default=0.5)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument("--out", default=None, help="write the figures (JSON) here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    start_cpu, start_wall = cpu_seconds(), time.perf_counter()
    corpus = load_corpus()
    spec = corpus.spec
    as_tensor = lambda g: torch.from_numpy(np.asarray(g, np.float32))
    train_grids = as_tensor(corpus.grids[corpus.split == "train"])
    validation = as_tensor(corpus.split_grids("validation"))
    test = corpus.split_grids("test")
    windows = corpus.grids[heldout_windows(corpus, ("train",))]   # one in four per file
    held_out = corpus.grids[heldout_windows(corpus)] > 0
    encoder, decoder = Encoder(spec.shape[0] * spec.steps), build(args.decoder, spec.steps,
                                                                   spec.bars, args.shapes)
    result = {"decoder": args.decoder, "beta": args.beta,
              **({"shapes": args.shapes} if args.decoder == "mixture" else {}),
              **train(encoder, decoder, train_grids, validation, args.beta, args.patience),
              "corpus": feelmetrics.playability(windows, spec)}
    torch.set_grad_enabled(False)
    encoder.eval(), decoder.eval()
    mu, logvar = encoder(train_grids)

    def aggregate(n, seed):
        g = torch.Generator().manual_seed(seed)
        i = torch.randint(0, len(mu), (n,), generator=g)
        return mu[i] + torch.exp(0.5 * logvar[i]) * torch.randn(mu[i].shape, generator=g)

    def batched(fn, z):
        return np.concatenate([fn(part).numpy() for part in z.split(2000)]).astype(np.float32)

    def figures(grids):
        realism = fidelity_diversity(held_out.reshape(len(held_out), -1),
                                     grids[:1000].reshape(1000, -1) > 0, jaccard_distances)
        return {**feelmetrics.playability(grids, spec),
                **{k: round(v, 3) for k, v in realism.items()},
                "density_vs_corpus": float(grids.mean() / (train_grids > 0).float().mean())}

    cut = calibrate(decoder, aggregate(3000, 0), metrics.row_density(train_grids.numpy()))
    decode = lambda z: decoder.decode(z, cut)[0]
    result["thresholds"] = [round(float(c), 3) for c in cut]
    test_codes = encoder(as_tensor(test))[0]
    result["test_f1"] = metrics.onset_scores(test, batched(decode, test_codes))["f1"]
    result["reconstructions"] = feelmetrics.playability(
        batched(decode, encoder(as_tensor(windows))[0]), spec)
    result["samples"] = figures(batched(decode, aggregate(10_000, 1)))
    if hasattr(decoder, "draw"):
        for temperature in (1.0, 0.7):
            g = torch.Generator().manual_seed(3)
            result[f"drawn_T{temperature}"] = figures(batched(
                lambda z, t=temperature, g=g: decoder.draw(z, t, g), aggregate(10_000, 1)))
    codes = aggregate(100, 2)
    decode(codes)
    start, repeats = cpu_seconds(), 20
    for _ in range(repeats):
        decode(codes)
    result["decode_ms_per_100_codes_cpu"] = round(1e3 * (cpu_seconds() - start) / repeats, 2)
    text = json.dumps(result, indent=1)
    print(text)
    print(f"{cpu_seconds() - start_cpu:.0f} s CPU, {time.perf_counter() - start_wall:.0f} s wall "
          f"(load {', '.join(f'{x:.1f}' for x in os.getloadavg())})")
    if args.out:
        write_text(Path(args.out), text + "\n")


if __name__ == "__main__":
    main()
