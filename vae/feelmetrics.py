"""How well a model plays a pattern like a drummer: the feel measurements of issue 19.

Humanising: held-out loops are quantised and played at one velocity, then given a
feel; what comes out is compared with how the drummer really played them.
- expected feel: timing MAE in ms (at each loop's tempo) and velocity MAE (MIDI
  units) on the hits, against zero offset, one constant shift and a per-position
  template (row x step within the bar: a DAW's groove quantise), fitted on training loops;
- performed feel: per row, the Wasserstein distance between the offsets (and the
  velocities) played and the real ones, and the spread (standard deviation) ratio.
Playability: three figures of prior samples read beside the corpus's.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import wasserstein_distance

from evodrum.grid import GridSpec
from evodrum.kit import ROWS

#: The one velocity a quantised pattern is played at before humanising (MIDI 100).
PATTERN_VELOCITY = 100 / 127


def ms_per_step(bpm, spec: GridSpec) -> np.ndarray:
    """Milliseconds per grid step at `bpm` (one value or one per loop)."""
    return 60000.0 / np.asarray(bpm, np.float64) / spec.steps_per_beat


@dataclass
class Template:
    """Baselines fitted on training loops: one constant shift and velocity, and a
    per-position template (median offset and velocity per row and step within the bar)."""

    shift: float
    velocity: float
    offset_at: np.ndarray     # (rows, steps per bar)
    velocity_at: np.ndarray   # (rows, steps per bar)

    @classmethod
    def fit(cls, grids: np.ndarray, offsets: np.ndarray, spec: GridSpec) -> Template:
        g = np.asarray(grids)
        hits = g > 0
        per_bar = spec.steps_per_bar
        rows = g.shape[1]
        offset_at = np.zeros((rows, per_bar), np.float32)
        velocity_at = np.zeros((rows, per_bar), np.float32)
        shift = float(np.median(offsets[hits]))
        velocity = float(np.median(g[hits]))
        folded_h = hits.reshape(len(g), rows, -1, per_bar).transpose(1, 3, 0, 2)
        folded_o = np.asarray(offsets).reshape(len(g), rows, -1, per_bar).transpose(1, 3, 0, 2)
        folded_v = g.reshape(len(g), rows, -1, per_bar).transpose(1, 3, 0, 2)
        for r in range(rows):
            for s in range(per_bar):
                h = folded_h[r, s]
                offset_at[r, s] = np.median(folded_o[r, s][h]) if h.any() else shift
                velocity_at[r, s] = np.median(folded_v[r, s][h]) if h.any() else velocity
        return cls(shift, velocity, offset_at, velocity_at)

    def apply(self, hits: np.ndarray, spec: GridSpec) -> tuple[np.ndarray, np.ndarray]:
        """(velocity, offset) of `hits` (N, rows, S) played with the template."""
        reps = spec.steps // spec.steps_per_bar
        off = np.tile(self.offset_at, reps)[None]
        vel = np.tile(self.velocity_at, reps)[None]
        return (np.where(hits, vel, 0).astype(np.float32),
                np.where(hits, off, 0).astype(np.float32))


def pattern(grids: np.ndarray) -> np.ndarray:
    """The loops quantised and played at one velocity (what a DAW user programs)."""
    return np.where(np.asarray(grids) > 0, np.float32(PATTERN_VELOCITY), 0).astype(np.float32)


def expected_errors(model, grids, offsets, bpm, template: Template, spec: GridSpec) -> dict:
    """Timing MAE (ms) and velocity MAE (MIDI units) on the hits of held-out loops humanised
    by each method; the model's is its expected feel (scatter 0)."""
    grids, offsets = np.asarray(grids), np.asarray(offsets)
    hits = grids > 0
    ms = np.broadcast_to(ms_per_step(bpm, spec)[:, None, None], hits.shape)[hits]
    real_o, real_v = offsets[hits], grids[hits] * 127
    loops = model.feel(pattern(grids), bpm=bpm, scatter=0)
    t_vel, t_off = template.apply(hits, spec)
    timing = {"zero offset": np.zeros_like(real_o), "constant shift": np.full_like(
        real_o, template.shift), "per-position template": t_off[hits],
        "model, expected feel": loops.offsets[hits]}
    velocity = {"constant": np.full_like(real_v, template.velocity * 127),
                "per-position template": t_vel[hits] * 127,
                "model, expected feel": loops.velocities[hits] * 127}
    return {"timing_mae_ms": {k: float(np.mean(np.abs(v - real_o) * ms))
                              for k, v in timing.items()},
            "velocity_mae": {k: float(np.mean(np.abs(v - real_v))) for k, v in velocity.items()},
            "hits": int(hits.sum()), "loops": len(grids)}


def distribution_rows(played_v, played_o, real_v, real_o, hits, ms) -> dict:
    """Per row: Wasserstein distance (ms, MIDI units) and spread ratio of played vs real."""
    out = {}
    row_of = np.broadcast_to(np.arange(hits.shape[1])[None, :, None], hits.shape)[hits]
    pv, po = played_v[hits] * 127, played_o[hits] * ms
    rv, ro = real_v[hits] * 127, real_o[hits] * ms
    for r, name in enumerate(ROWS):
        on = row_of == r
        if on.sum() < 2:
            continue
        out[name] = {"hits": int(on.sum()),
                     "timing_w1_ms": float(wasserstein_distance(po[on], ro[on])),
                     "timing_spread_ratio": float(po[on].std() / max(ro[on].std(), 1e-9)),
                     "velocity_w1": float(wasserstein_distance(pv[on], rv[on])),
                     "velocity_spread_ratio": float(pv[on].std() / max(rv[on].std(), 1e-9))}
    return out


def performed(model, grids, offsets, bpm, template: Template, spec: GridSpec,
              seed: int = 0) -> dict:
    """Per-row distributions of held-out loops humanised with the performed feel (scatter
    1), straight at one velocity, and templated, against the real playing."""
    grids, offsets = np.asarray(grids), np.asarray(offsets)
    hits = grids > 0
    ms = np.broadcast_to(ms_per_step(bpm, spec)[:, None, None], hits.shape)[hits]
    loops = model.feel(pattern(grids), bpm=bpm, scatter=1.0, rng=seed)
    t_vel, t_off = template.apply(hits, spec)
    methods = {"model, performed feel": (loops.velocities, loops.offsets),
               "model, expected feel": None,
               "straight": (pattern(grids), np.zeros_like(offsets)),
               "per-position template": (t_vel, t_off)}
    expected = model.feel(pattern(grids), bpm=bpm, scatter=0)
    methods["model, expected feel"] = (expected.velocities, expected.offsets)
    result = {}
    for name, (v, o) in methods.items():
        rows = distribution_rows(v, o, grids, offsets, hits, ms)
        result[name] = {"rows": rows, "summary": summarise(rows)}
    return result


def summarise(rows: dict) -> dict:
    """Hit-weighted means over rows, and how many rows keep the spread within 20%."""
    w = np.array([r["hits"] for r in rows.values()], np.float64)
    mean = lambda k: float(np.average([r[k] for r in rows.values()], weights=w))  # noqa: E731
    within = lambda k: int(sum(abs(r[k] - 1) <= 0.2 for r in rows.values()))  # noqa: E731
    return {"timing_w1_ms": mean("timing_w1_ms"), "velocity_w1": mean("velocity_w1"),
            "timing_spread_within_20pct": within("timing_spread_ratio"),
            "velocity_spread_within_20pct": within("velocity_spread_ratio"),
            "rows": len(rows)}


def playability(grids: np.ndarray, spec: GridSpec) -> dict:
    """The issue's three playability figures of a set of loops (shares 0..1):
    more than 24 snare hits in the loop (per 64 steps); closed hat, ride and snare together
    on 4 or more steps; a snare on beats 2 and 4 in at least 3 of 4 bars."""
    g = np.asarray(grids) > 0
    sd, ch, rd = (ROWS.index(r) for r in ("SD", "CH", "RD"))
    per64 = g.shape[2] / 64
    busy_snare = g[:, sd].sum(axis=1) > 24 * per64
    limbs = (g[:, ch] & g[:, rd] & g[:, sd]).sum(axis=1) >= 4
    bars = g[:, sd].reshape(len(g), -1, spec.steps_per_bar)
    two = spec.steps_per_beat
    four = 3 * spec.steps_per_beat
    backbeat = (bars[:, :, two] & bars[:, :, four]).sum(axis=1) >= 0.75 * bars.shape[1]
    return {"snare_over_24": float(busy_snare.mean()), "hat_ride_snare_4": float(limbs.mean()),
            "backbeat_3_of_4": float(backbeat.mean())}
