"""The model's feel: expected velocities and timing offsets, plus scatter as real drummers play.

A model's velocity and offset heads predict the *expected* feel of each hit of a
pattern. Real playing scatters around that (about 78% of the Groove corpus's
offset variance is hit-to-hit scatter within a loop), so a loop played at its
expected feel alone is stiff. The performed feel adds residuals drawn from the
real ones: for every drum row and tempo band, the quantiles of (real - expected)
offsets and velocities on the training split, stored with the model as plain
arrays and sampled by inverse CDF with numpy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Upper edges of the tempo bands (BPM); the last band is open.
TEMPO_EDGES = (85.0, 105.0, 125.0, 150.0)
#: Quantile levels stored per row and band (inverse-CDF sampling interpolates between them).
LEVELS = np.linspace(0.005, 0.995, 100)
#: A row and band with fewer training hits than this uses the row's residuals of all tempos.
MIN_HITS = 200
#: Offsets stay inside the grid cell: [-0.5, 0.5).
OFFSET_LIMIT = 0.5 - 1e-4


def tempo_band(bpm, edges=TEMPO_EDGES) -> np.ndarray:
    """Band index of each tempo (0 = slowest)."""
    return np.searchsorted(np.asarray(edges, np.float64), np.asarray(bpm, np.float64),
                           side="right")


def band_names(edges=TEMPO_EDGES) -> list[str]:
    """'< 85 BPM', '85-105 BPM', ..., '>= 150 BPM'."""
    e = [f"{x:g}" for x in edges]
    return [f"< {e[0]} BPM", *(f"{a}-{b} BPM" for a, b in zip(e, e[1:])), f">= {e[-1]} BPM"]


@dataclass(frozen=True)
class FeelTables:
    """Residual quantiles per (row, tempo band): offsets in steps, velocities on 0..1."""

    offset: np.ndarray     # (rows, bands, len(LEVELS))
    velocity: np.ndarray   # (rows, bands, len(LEVELS))
    edges: np.ndarray      # (bands - 1,) tempo band edges, BPM

    def __post_init__(self):
        """ValueError for tables no fit produces (shapes, NaN, quantiles out of order)."""
        o, v, e = (np.asarray(a, np.float32) for a in (self.offset, self.velocity, self.edges))
        if o.ndim != 3 or o.shape != v.shape or e.shape != (o.shape[1] - 1,) \
                or o.shape[2] != len(LEVELS):
            raise ValueError(f"feel tables do not fit together: offset {o.shape}, velocity "
                             f"{v.shape}, tempo edges {e.shape}")
        if not all(np.isfinite(a).all() for a in (o, v, e)) or (np.diff(o, axis=2) < 0).any() \
                or (np.diff(v, axis=2) < 0).any() or (np.diff(e) <= 0).any():
            raise ValueError("feel tables hold non-finite or unordered numbers")
        object.__setattr__(self, "offset", o)
        object.__setattr__(self, "velocity", v)
        object.__setattr__(self, "edges", e)

    def draw(self, rows: np.ndarray, bands: np.ndarray,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Offset and velocity residuals for hits on `rows` at tempo `bands` (same shape)."""
        u = rng.random((2, *np.shape(rows)))
        pos = np.interp(u, LEVELS, np.arange(len(LEVELS)))
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, len(LEVELS) - 1)
        frac = (pos - lo).astype(np.float32)

        def pick(table, k):
            a, b = table[rows, bands, lo[k]], table[rows, bands, hi[k]]
            return a + (b - a) * frac[k]
        return pick(self.offset, 0), pick(self.velocity, 1)

    def spread(self) -> dict[str, np.ndarray]:
        """Interquartile range of each table, (rows, bands): how loose the scatter is."""
        q1, q3 = np.searchsorted(LEVELS, 0.25), np.searchsorted(LEVELS, 0.75)
        return {"offset": self.offset[..., q3] - self.offset[..., q1],
                "velocity": self.velocity[..., q3] - self.velocity[..., q1]}

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"offset": self.offset, "velocity": self.velocity, "edges": self.edges}

    @classmethod
    def from_arrays(cls, arrays: dict) -> FeelTables:
        return cls(np.asarray(arrays["offset"]), np.asarray(arrays["velocity"]),
                   np.asarray(arrays["edges"]))


def fit_tables(hits: np.ndarray, real_velocity: np.ndarray, real_offset: np.ndarray,
               expected_velocity: np.ndarray, expected_offset: np.ndarray, bpm: np.ndarray,
               edges=TEMPO_EDGES) -> FeelTables:
    """Residual quantiles of real minus expected feel on `hits` (N, rows, S), per row and the
    tempo band of each loop's `bpm` (N,)."""
    hits = np.asarray(hits, bool)
    n, rows, _ = hits.shape
    bands = np.broadcast_to(tempo_band(bpm, edges)[:, None, None], hits.shape)
    row_of = np.broadcast_to(np.arange(rows)[None, :, None], hits.shape)
    d_off = (np.asarray(real_offset) - np.asarray(expected_offset))[hits]
    d_vel = (np.asarray(real_velocity) - np.asarray(expected_velocity))[hits]
    b, r = bands[hits], row_of[hits]
    shape = (rows, len(edges) + 1, len(LEVELS))
    tables = np.zeros((2, *shape), np.float32)
    for row in range(rows):
        on_row = r == row
        for band in range(shape[1]):
            chosen = on_row & (b == band)
            if chosen.sum() < MIN_HITS:
                chosen = on_row if on_row.sum() >= MIN_HITS else np.ones_like(on_row)
            if not chosen.any():
                continue   # no hits at all: no scatter
            tables[0, row, band] = np.quantile(d_off[chosen], LEVELS)
            tables[1, row, band] = np.quantile(d_vel[chosen], LEVELS)
    return FeelTables(tables[0], tables[1], np.asarray(edges, np.float32))


def perform(hits: np.ndarray, velocity: np.ndarray, offset: np.ndarray, bpm,
            tables: FeelTables | None, scatter: float = 1.0,
            rng: np.random.Generator | int | None = None,
            min_velocity: float = 1 / 127) -> tuple[np.ndarray, np.ndarray]:
    """Velocities and offsets (N, rows, S) float32 of `hits` played at the expected feel
    plus `scatter` times residuals drawn from `tables` (0: the expected feel)."""
    hits = np.asarray(hits, bool)
    velocity = np.asarray(velocity, np.float32).copy()
    offset = np.asarray(offset, np.float32).copy()
    if scatter and tables is not None and hits.any():
        rng = np.random.default_rng(rng)
        bpm = np.broadcast_to(np.asarray(bpm, np.float64), (len(hits),))
        bands = np.broadcast_to(tempo_band(bpm, tables.edges)[:, None, None], hits.shape)[hits]
        rows = np.broadcast_to(np.arange(hits.shape[1])[None, :, None], hits.shape)[hits]
        d_off, d_vel = tables.draw(rows, bands, rng)
        offset[hits] += np.float32(scatter) * d_off
        velocity[hits] += np.float32(scatter) * d_vel
    velocity = np.where(hits, np.clip(velocity, min_velocity, 1.0), 0).astype(np.float32)
    offset = np.where(hits, np.clip(offset, -0.5, OFFSET_LIMIT), 0).astype(np.float32)
    return velocity, offset
