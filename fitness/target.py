"""Feature targets: named features with goal values, and a loop's distance to them.

A target reads `density=0.4,syncopation=0.3` (a bare feature means the level a
drummer means, `features.BARE_LEVEL`: kick & snare for syncopation and wnbd, all for
density and symmetry;
`hats.density=0.6` names a level; `density=0.4:2` weights a term twice), or
copies the features of an example loop (`Target.like`). Distance is the
weighted mean absolute difference over the named features, so it lies in [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evodrum import checks
from evodrum.errors import EvodrumError
from evodrum.grid import DEFAULT_SPEC, GridSpec
from fitness.features import FEATURE_NAMES, FEATURES, LEVELS, compute, full_name, max_lhl_score

ALLOWED_HELP = (f"use FEATURE or LEVEL.FEATURE with FEATURE one of {', '.join(FEATURES)} "
                f"and LEVEL one of {', '.join(LEVELS)} (bare: syncopation and wnbd mean "
                "kick_snare, density and symmetry all), e.g. hats.density=0.6")


def canonical_name(name: str) -> str:
    """The full LEVEL.FEATURE name for `name` ('syncopation' -> 'kick_snare.syncopation',
    see features.BARE_LEVEL); EvodrumError if unknown."""
    full = full_name(name)
    if full not in FEATURE_NAMES:
        raise EvodrumError(f"unknown target feature {name.strip()!r}: {ALLOWED_HELP}")
    return full


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise EvodrumError(f"{what} must be a number, got {text.strip()!r}") from None
    if not np.isfinite(value):
        raise EvodrumError(f"{what} must be a finite number, got {text.strip()!r}")
    return value


@dataclass(frozen=True)
class Target:
    """Goal values per feature (LEVEL.FEATURE or FEATURE, each in [0, 1]) and optional
    positive weights per feature (missing weights are 1)."""

    goals: dict[str, float]
    weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self):
        if not self.goals:
            raise EvodrumError("empty target: give NAME=VALUE pairs such as "
                               "density=0.4,syncopation=0.3")
        goals: dict[str, float] = {}
        for name, value in self.goals.items():
            full = canonical_name(name)
            if full in goals:
                raise EvodrumError(f"target feature {full} is given twice")
            goals[full] = checks.number(value, f"target value for {full}", 0, 1)
        weights = {full: 1.0 for full in goals}
        for name, w in self.weights.items():
            full = canonical_name(name)
            if full not in goals:
                raise EvodrumError(f"weight given for {full}, which the target does not name")
            weights[full] = checks.weight(w, f"weight for {full}", zero=False)
        object.__setattr__(self, "goals", goals)
        object.__setattr__(self, "weights", weights)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.goals)

    def distance(self, grids: np.ndarray, spec: GridSpec = DEFAULT_SPEC) -> np.ndarray:
        """Weighted mean |feature - goal| of each grid, (N,) float32 in [0, 1]; 0 = on target."""
        values = compute(grids, spec, self.names)
        diff = np.stack([np.abs(values[n] - self.goals[n]) for n in self.names], axis=1)
        w = np.array([self.weights[n] for n in self.names], dtype=np.float32)
        return (diff @ w / w.sum()).astype(np.float32)

    def floor(self, spec: GridSpec = DEFAULT_SPEC) -> float:
        """A lower bound on any loop's distance: features take only certain values
        (density k/S, syncopation k/(bars * max bar score), symmetry a fraction of at
        most S), so each goal's gap to the nearest such value is the least error the
        features' resolution allows (WNBD's finer values count as exact). A search
        that reaches it cannot do better."""
        steps = np.arange(1, spec.steps + 1)
        denominators = {"density": np.array([spec.steps]), "symmetry": steps,
                        "syncopation": np.array([spec.bars * max(max_lhl_score(spec), 1)])}
        gaps = []
        for name in self.names:
            q = denominators.get(name.split(".")[1])
            goal = self.goals[name]
            gaps.append(0.0 if q is None else float(np.min(np.abs(goal - np.round(goal * q) / q))))
        w = np.array([self.weights[n] for n in self.names])
        return float(np.asarray(gaps) @ w / w.sum())

    @classmethod
    def like(cls, grid: np.ndarray, spec: GridSpec = DEFAULT_SPEC,
             names: tuple[str, ...] = FEATURE_NAMES) -> "Target":
        """A target matching the features of one example loop (all features unless `names`)."""
        values = compute(grid, spec)
        return cls({n: float(values[canonical_name(n)][0]) for n in names})

    def overridden_by(self, explicit: "Target | None") -> "Target":
        """These goals with `explicit`'s replacing or adding to them, weighted as
        `explicit` says (1 elsewhere): `--like FILE --features ...` as every caller means it."""
        if explicit is None:
            return self
        return Target({**self.goals, **explicit.goals}, dict(explicit.weights))

    def __str__(self) -> str:
        return ",".join(f"{n}={g:.3g}" + (f":{self.weights[n]:g}" if self.weights[n] != 1 else "")
                        for n, g in self.goals.items())

    def to_dict(self) -> dict:
        return {"goals": dict(self.goals), "weights": dict(self.weights)}

    @classmethod
    def from_dict(cls, d: dict) -> "Target":
        return cls(dict(d["goals"]), dict(d.get("weights", {})))


def parse_target(text: str) -> Target:
    """A Target from 'NAME=VALUE[:WEIGHT],...' such as 'density=0.4,hats.syncopation=0.3:2'."""
    goals: dict[str, float] = {}
    weights: dict[str, float] = {}
    for term in filter(None, (t.strip() for t in text.split(","))):
        name, eq, rest = term.partition("=")
        if not eq or not name.strip():
            raise EvodrumError(f"target term {term!r} is not NAME=VALUE[:WEIGHT] "
                               f"(e.g. density=0.4 or hats.density=0.6:2)")
        full = canonical_name(name)
        if full in goals:
            raise EvodrumError(f"target feature {full} is given twice in {text!r}")
        value, colon, weight = rest.partition(":")
        goals[full] = _number(value, f"target value for {full}")
        if colon:
            weights[full] = _number(weight, f"weight for {full}")
    return Target(goals, weights)
