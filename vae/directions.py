"""Semantic directions in latent space: attribute and style sliders for a model.

For every rhythm feature of `fitness` (12), every row's hit density (9) and every
style of the training corpus, a direction is computed from the encoded training
loops as a difference of mean codes:

- attribute: a linear probe (least squares of the attribute on the codes); the
  direction is the probe's gradient, scaled so that +1 changes the probed
  attribute by half the gap between the corpus's bottom- and top-quartile means
  (about from a typical loop to a typical top-quartile one). On held-out loops
  the probe moved every attribute further per unit of latent distance, with
  fewer side effects, than the quartile mean-code difference did;
- style: mean code of the style's loops - mean code of all loops, so +1 adds the
  offset of that style's typical loop from the corpus's typical loop.

The directions are stored beside the model as `<model>.directions.json` (with
the corpus statistics and, once measured by `vae.disentangle`, each direction's
measured slope); `steer(model, code, {name: amount})` applies them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import fitness
from evodrum import checks, statefile
from evodrum.atomic import write_json
from evodrum.errors import EvodrumError
from evodrum.grid import GridSpec
from evodrum.infile import NotAFile
from evodrum.kit import ROWS

FORMAT = "evodrum-directions-1"
#: Share of loops in the top and bottom groups of an attribute.
QUANTILE = 0.25
#: A style needs this many training windows to get a direction.
MIN_STYLE_WINDOWS = 40
#: Amounts the measurements (and the sliders) span.
RANGE = (-2.0, 2.0)
#: The largest move taken (in the same units): far past anything measured, and far
#: below where float32 codes overflow into a silent loop (1e308 did).
LIMIT = 10.0
#: More directions than a file may hold (a model has 38: 30 attributes, 8 styles).
MAX_DIRECTIONS = 10_000
#: Attributes: the 12 features of `fitness`, then each row's hit density.
ROW_DENSITIES = tuple(f"{row}.density" for row in ROWS)
ATTRIBUTES = fitness.FEATURE_NAMES + ROW_DENSITIES


def attribute_values(grids: np.ndarray, spec: GridSpec) -> dict[str, np.ndarray]:
    """Every attribute of a batch (N, 9, S): {name: (N,) float}, features then row densities."""
    values = fitness.compute(grids, spec)
    density = (np.asarray(grids) > 0).mean(axis=2)
    values.update({name: density[:, i] for i, name in enumerate(ROW_DENSITIES)})
    return values


def style_of(label: str) -> str:
    """A corpus style label's main style: Groove's 'funk/groove1' and a folder 'funk/live' -> 'funk'."""
    return str(label).strip().split("/")[0].strip().lower()


@dataclass
class Direction:
    """One slider: a latent vector, what +1 means, and (once measured) how well it works."""

    name: str                  # attribute name (hats.density) or style:NAME
    kind: str                  # "attribute" or "style"
    vector: np.ndarray         # (zdim,) added to a code per +1
    unit: str                  # what +1 means, in words
    stats: dict = field(default_factory=dict)      # corpus statistics of the attribute/style
    measured: dict = field(default_factory=dict)   # vae.disentangle results on held-out loops

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "unit": self.unit,
                "vector": [round(float(v), 6) for v in self.vector], "stats": self.stats,
                "measured": self.measured}

    @classmethod
    def from_dict(cls, d: dict) -> Direction:
        with np.errstate(over="ignore"):   # 1e308 becomes inf, refused by the caller
            vector = np.asarray(d["vector"], np.float32)
        return cls(str(d["name"]), str(d["kind"]), vector,
                   str(d.get("unit", "")), dict(d.get("stats", {})), dict(d.get("measured", {})))


def check_amounts(amounts: dict[str, float]) -> None:
    """EvodrumError for a move that is not a finite number within +-LIMIT."""
    for name, amount in amounts.items():
        checks.number(amount, f"{name}'s amount", -LIMIT, LIMIT)


@dataclass
class Directions:
    """A model's named directions, in the order they were built (attributes, then styles)."""

    items: dict[str, Direction]
    zdim: int
    info: dict = field(default_factory=dict)

    def __contains__(self, name: str) -> bool:
        return name in self.items

    def __getitem__(self, name: str) -> Direction:
        return self.items[self.resolve(name)]

    def names(self, kind: str | None = None) -> list[str]:
        return [n for n, d in self.items.items() if kind is None or d.kind == kind]

    def resolve(self, name: str) -> str:
        """The stored name for what a user typed: 'funk' or 'style:funk'; a bare feature
        is the level a drummer means ('syncopation' = kick_snare.syncopation,
        fitness.features.BARE_LEVEL)."""
        from fitness.features import full_name
        key = name.strip()
        for candidate in (key, full_name(key), f"style:{style_of(key)}", key.lower()):
            if candidate in self.items:
                return candidate
        raise EvodrumError(f"no direction {name!r}: attributes are "
                           f"{', '.join(self.names('attribute'))}; styles are "
                           f"{', '.join(n[6:] for n in self.names('style')) or 'none'}")

    def apply(self, codes: np.ndarray, amounts: dict[str, float]) -> np.ndarray:
        """`codes` (zdim,) or (N, zdim) moved by sum(amount x direction) over `amounts`."""
        codes = np.asarray(codes, np.float32)
        shift = np.zeros(self.zdim, np.float32)
        check_amounts(amounts)
        for name, amount in amounts.items():
            shift += np.float32(amount) * self[name].vector
        return (codes + shift).astype(np.float32)

    def listing(self) -> list[dict]:
        """One dict per direction for a UI: name, kind, unit, slider range, measured figures."""
        return [{"name": d.name, "kind": d.kind, "unit": d.unit, "range": list(RANGE),
                 "stats": d.stats, "measured": d.measured} for d in self.items.values()]

    def to_dict(self) -> dict:
        return {"format": FORMAT, "zdim": self.zdim, "info": self.info,
                "directions": [d.to_dict() for d in self.items.values()]}

    def save(self, path: str | Path) -> Path:
        """Write the directions as JSON, atomically."""
        write_json(Path(path), self.to_dict())
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> Directions:
        """Read a directions file; EvodrumError naming it if it is damaged or foreign."""
        path = Path(path)
        try:   # a file beside the model you named: read through a link, but regular only
            d = statefile.parse_json(statefile.read_bytes(path, follow_links=True), path,
                                     "directions file")
        except NotAFile as e:
            raise EvodrumError(f"{path}: cannot read the directions file ({e.reason})") from None
        try:
            if not isinstance(d, dict) or d.get("format") != FORMAT:
                found = d.get("format") if isinstance(d, dict) else type(d).__name__
                raise ValueError(f"not an {FORMAT} file (found {found!r})")
            f = statefile.Fields(d)
            zdim = f.integer("zdim", 1)
            info = f.table("info", default=statefile.Fields({})).data
            items = [Direction.from_dict(x) for x in f.items("directions", MAX_DIRECTIONS)]
            if any(x.vector.shape != (zdim,) or not np.isfinite(x.vector).all() for x in items):
                raise ValueError(f"a direction is not {zdim} finite numbers")
        except (statefile.StateError, ValueError, KeyError, TypeError, AttributeError,
                OverflowError) as e:
            raise EvodrumError(f"{path}: damaged directions file ({e})") from None
        return cls({x.name: x for x in items}, zdim, dict(info))


def directions_path(model_path: str | Path) -> Path:
    """Where a model file's directions live: model.pt -> model.directions.json."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + ".directions.json")


def _quantile_groups(values: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the bottom and top QUANTILE of `values`, ties broken at random."""
    order = np.lexsort((rng.random(len(values)), values))
    k = max(1, int(round(QUANTILE * len(values))))
    return order[:k], order[-k:]


def _r2(values: np.ndarray, fitted: np.ndarray) -> float:
    """Share of the attribute's variance the linear probe explains."""
    return float(1 - np.var(values - fitted) / max(np.var(values), 1e-12))


def build(codes: np.ndarray, grids: np.ndarray, spec: GridSpec,
          styles: np.ndarray | None = None, info: dict | None = None, seed: int = 0) -> Directions:
    """Directions from training loops' codes (N, zdim), their grids and style labels (N,)."""
    codes = np.asarray(codes, np.float64)
    rng = np.random.default_rng(seed)
    design = np.c_[codes, np.ones(len(codes))]
    items: dict[str, Direction] = {}
    for name, values in attribute_values(grids, spec).items():
        values = np.asarray(values, np.float64)
        low, high = _quantile_groups(values, rng)
        gap = (values[high].mean() - values[low].mean()) / 2
        coef = np.linalg.lstsq(design, values, rcond=None)[0]
        probe = coef[:-1]
        vector = gap * probe / max(float(probe @ probe), 1e-12)
        stats = {"mean": float(values.mean()), "sd": float(values.std()),
                 "bottom_mean": float(values[low].mean()), "top_mean": float(values[high].mean()),
                 "probe_r2": _r2(values, design @ coef)}
        items[name] = Direction(name, "attribute", vector.astype(np.float32),
                                f"+1: {name} {gap:+.3f} by the probe, half the gap between the "
                                f"corpus's quartile means {stats['bottom_mean']:.3f} and "
                                f"{stats['top_mean']:.3f}", stats)
    if styles is not None and len(styles):
        main = np.array([style_of(s) for s in styles])
        centre = codes.mean(axis=0)
        for style in sorted(set(main) - {""}):
            members = main == style
            if members.sum() < MIN_STYLE_WINDOWS:
                continue
            vector = codes[members].mean(axis=0) - centre
            items[f"style:{style}"] = Direction(
                f"style:{style}", "style", vector.astype(np.float32),
                f"+1: the offset of a typical {style} loop from the corpus's typical loop",
                {"windows": int(members.sum())})
    return Directions(items, codes.shape[1], dict(info or {}, method="linear probe (attributes), "
                      "mean-code offset (styles)", quantile=QUANTILE, windows=len(codes)))


def for_model(model) -> Directions:
    """The directions stored beside a loaded model's file (cached on the model).

    EvodrumError when the model has none, saying how to build them.
    """
    cached = getattr(model, "directions", None)
    if cached is not None:
        return cached
    source = getattr(model, "source", None)
    path = directions_path(source) if source is not None else None
    if path is None or not path.is_file():
        raise EvodrumError(f"{source or model.name}: no latent directions beside the model; "
                           "build them with `evodrum steer --build --model PATH`")
    found = Directions.load(path)
    if found.zdim != model.zdim:
        raise EvodrumError(f"{path}: directions for z = {found.zdim}, the model has "
                           f"z = {model.zdim}")
    model.directions = found
    return found


def steer(model, codes: np.ndarray, amounts: dict[str, float]) -> np.ndarray:
    """`codes` (zdim,) or (N, zdim) moved by the model's directions: {name: amount}.

    Names are attributes (`hats.density`, `syncopation` = all.syncopation,
    `BD.density`) or styles (`funk`, `style:funk`); +1 is each direction's unit
    (see `for_model(model).listing()`), and -2..+2 is the measured range.
    """
    return for_model(model).apply(codes, amounts)


#: How a straight move that does nothing is repaired: further along the direction (these
#: multiples of the move) and around it (random offsets of these radii, in prior sds per
#: dimension, SEARCH_SAMPLES each), all decoded in one batch; the nearest that works wins.
SEARCH_ALONG = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0)
SEARCH_RADII = (0.15, 0.3, 0.6, 1.0)
SEARCH_SAMPLES = 12
#: A feature counts as moved when it changes by more than this (features lie in [0, 1]).
MOVED = 1e-6


@dataclass
class Move:
    """A slider move's result: the code, the loop it decodes to, and what happened."""

    code: np.ndarray                 # (zdim,) in the model's latent units
    grid: np.ndarray                 # (9, S) the loop, after `finish`
    searched: bool                   # the straight move did not work; this one was searched
    works: bool                      # the loop changed and every attribute moved as asked
    note: str = ""                   # for the musician when a slider cannot move this loop


def _works(grids: np.ndarray, start: np.ndarray, start_values: dict, amounts: dict,
           spec: GridSpec) -> np.ndarray:
    """(N,) bool: each grid plays other hits than `start` and moves every steered
    attribute the asked way (one already at its bound that way must not move back)."""
    ok = ((grids > 0) != (start > 0)).any(axis=(1, 2))
    values = attribute_values(grids, spec)
    for name, amount in amounts.items():
        if name not in values or amount == 0:
            continue
        before = float(start_values[name][0])
        at_bound = before >= 1 - MOVED if amount > 0 else before <= MOVED
        delta = np.sign(amount) * (values[name] - before)
        ok = ok & (delta >= -MOVED if at_bound else delta > MOVED)
    return ok


def move(model, code: np.ndarray, amounts: dict[str, float], finish=None,
         seed: int = 0) -> Move:
    """`code` moved along the named directions so that the loop really changes and every
    steered attribute moves the asked way. The straight move (`steer`) is kept when it
    does; else the nearest code to it, along the direction (up to 3x) and around it, that
    does; else the straight move with a note saying this loop cannot be moved that way.
    `finish` (grids -> grids) is applied to every decoded loop first (e.g. locked rows)."""
    found = for_model(model)
    amounts = {found.resolve(n): float(v) for n, v in amounts.items()}
    finish = finish or (lambda grids: grids)
    code = np.asarray(code, np.float32).reshape(-1)
    start = finish(model.decode(code[None]))
    start_values = attribute_values(start, model.spec)
    shift = found.apply(code, amounts) - code
    straight = code + shift
    grid = finish(model.decode(straight[None]))
    if not amounts or _works(grid, start[0], start_values, amounts, model.spec)[0]:
        return Move(straight, grid[0], False, True)
    rng = np.random.default_rng(seed)
    std = np.asarray(model.latent_std, np.float32)
    along = code + np.asarray(SEARCH_ALONG, np.float32)[:, None] * shift
    noise = rng.standard_normal((len(SEARCH_RADII), SEARCH_SAMPLES, len(code))).astype(np.float32)
    around = (np.asarray(SEARCH_RADII, np.float32)[:, None, None] * noise * std)
    candidates = np.concatenate([along, (along[:, None, None] + around[None]).reshape(-1, len(code))])
    grids = finish(model.decode(candidates))
    ok = _works(grids, start[0], start_values, amounts, model.spec)
    if ok.any():
        distance = np.linalg.norm((candidates - straight) / std, axis=1)
        best = int(np.flatnonzero(ok)[np.argmin(distance[ok])])
        return Move(candidates[best], grids[best], True, True)
    what = ", ".join(f"{n} {'up' if v > 0 else 'down'}" for n, v in amounts.items())
    return Move(straight, grid[0], True, False,
                f"this loop does not move {what} with this model (nothing near the direction "
                "changes it): try another slider or a different loop")
