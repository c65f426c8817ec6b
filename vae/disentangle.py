"""How well each latent direction works, measured on held-out loops.

Held-out loops are encoded (refined, as `steer` does), moved by -2..+2 along a
direction and decoded; the decoded loops' attributes give, per direction:

- slope: change of its own attribute per +1 (least squares over the amounts), in
  the attribute's units and in corpus standard deviations;
- monotonic: the mean attribute rises at every step from -2 to +2, and the share
  of loops for which it never falls;
- off-target: the other features' slopes in standard deviations (mean and
  largest), leaving out attributes that are the same thing at another level
  (hats.density for CH.density);
- styles: the share of a loop's 15 nearest training loops (Jaccard distance on
  onsets, a judge that knows nothing of the model) that are of the style, for
  held-out loops of other styles at 0, +1 and +2.

`measure` stores these in each direction's `measured` and returns the full matrix
of standardised slopes; `report` writes the disentanglement table.
"""
from __future__ import annotations

import numpy as np

from evodrum.grid import GridSpec, onsets
from fitness import FEATURE_NAMES, LEVELS
from vae import refine
from vae.directions import ATTRIBUTES, Directions, attribute_values, style_of

AMOUNTS = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
STYLE_AMOUNTS = np.array([0.0, 1.0, 2.0])
#: Neighbours in the nearest-style vote.
NEIGHBOURS = 15
#: A direction "works" when its slope is at least this many sds per +1 and monotonic.
WORKS_SLOPE_SD = 0.2
#: A style direction "works" when the vote rises at both steps and by this much at +2.
WORKS_VOTE_GAIN = 0.10


def related(name: str) -> set[str]:
    """Attributes that measure the same thing as `name` at another level."""
    level, feature = name.split(".")
    if level in LEVELS:
        rows = LEVELS[level]
        return ({f"{r}.density" for r in rows} | {f"{lv}.density" for lv, rs in LEVELS.items()
                                                  if set(rs) & set(rows)}) \
            if feature == "density" else set()
    return {f"{lv}.density" for lv, rows in LEVELS.items() if level in rows}


def _attribute_matrix(grids: np.ndarray, spec: GridSpec) -> np.ndarray:
    values = attribute_values(grids, spec)
    return np.stack([values[n] for n in ATTRIBUTES], axis=-1).astype(np.float64)


class StyleVote:
    """Share of a loop's nearest training loops (Jaccard on onsets) of each style."""

    def __init__(self, train_grids: np.ndarray, train_styles: np.ndarray, size: int = 6000,
                 seed: int = 0):
        rng = np.random.default_rng(seed)
        pick = rng.choice(len(train_grids), min(size, len(train_grids)), replace=False)
        flat = onsets(train_grids[pick]).reshape(len(pick), -1)
        self._t = np.ascontiguousarray(flat.T, np.float32)
        self._counts = flat.sum(axis=1).astype(np.float32)
        self.styles = np.array([style_of(s) for s in np.asarray(train_styles)[pick]])

    def share(self, grids: np.ndarray, style: str) -> np.ndarray:
        """(N,) share of each loop's NEIGHBOURS nearest training loops that are `style`."""
        out = np.empty(len(grids))
        is_style = self.styles == style
        for i in range(0, len(grids), 512):
            q = onsets(grids[i:i + 512]).reshape(len(grids[i:i + 512]), -1).astype(np.float32)
            inter = q @ self._t
            union = q.sum(axis=1, keepdims=True) + self._counts - inter
            dist = 1 - inter / np.maximum(union, 1)
            near = np.argpartition(dist, NEIGHBOURS, axis=1)[:, :NEIGHBOURS]
            out[i:i + 512] = is_style[near].mean(axis=1)
        return out


def measure(model, directions: Directions, heldout: np.ndarray, heldout_styles: np.ndarray,
            train_grids: np.ndarray, train_styles: np.ndarray, loops: int = 400,
            refine_steps: int = refine.DEFAULT_STEPS, seed: int = 0) -> np.ndarray:
    """Measure every direction on up to `loops` held-out loops; returns the slope matrix
    (directions x ATTRIBUTES) in corpus standard deviations per +1."""
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(heldout), min(loops, len(heldout)), replace=False))
    grids, held_styles = heldout[pick], np.array([style_of(s) for s in heldout_styles[pick]])
    codes = refine.encode(model, grids, refine_steps).codes
    sd = _attribute_matrix(train_grids, model.spec).std(axis=0)
    vote = StyleVote(train_grids, train_styles, seed=seed) if directions.names("style") else None
    matrix = []
    for name in directions.names():
        d = directions[name]
        moved = codes[None] + AMOUNTS[:, None, None] * d.vector[None, None]
        values = _attribute_matrix(model.decode(moved.reshape(-1, model.zdim)), model.spec)
        values = values.reshape(len(AMOUNTS), len(codes), -1)
        means = values.mean(axis=1)
        slopes = np.polyfit(AMOUNTS, means, 1)[0]
        standard = slopes / np.maximum(sd, 1e-9)
        matrix.append(standard)
        d.measured = _attribute_figures(name, values, means, slopes, standard) \
            if d.kind == "attribute" else \
            _style_figures(model, d, codes, held_styles, grids, vote, standard)
    return np.array(matrix)


def _off_target(name: str, standard: np.ndarray) -> dict:
    skip = {name} | related(name)
    off = {n: abs(float(s)) for n, s in zip(ATTRIBUTES, standard)
           if n in FEATURE_NAMES and n not in skip}
    worst = max(off, key=off.get)
    return {"off_target_mean_sd": float(np.mean(list(off.values()))),
            "off_target_max_sd": off[worst], "off_target_max": worst}


def _attribute_figures(name, values, means, slopes, standard) -> dict:
    k = ATTRIBUTES.index(name)
    own = values[:, :, k]
    steps = np.diff(means[:, k])
    figures = {"slope": float(slopes[k]), "slope_sd": float(standard[k]),
               "means": [round(float(m), 4) for m in means[:, k]],
               "monotonic": bool((steps > 0).all()),
               "loops_monotonic": float((np.diff(own, axis=0) >= 0).all(axis=0).mean()),
               **_off_target(name, standard)}
    figures["selectivity"] = abs(figures["slope_sd"]) / max(figures["off_target_max_sd"], 1e-9)
    figures["works"] = bool(figures["monotonic"] and figures["slope_sd"] >= WORKS_SLOPE_SD)
    figures["selective"] = bool(figures["works"] and figures["selectivity"] > 1)
    return figures


def _style_figures(model, d, codes, held_styles, grids, vote, standard) -> dict:
    style = d.name.split(":", 1)[1]
    others = held_styles != style
    order = np.argsort(-np.abs(standard))
    figures = {"largest_moves": {ATTRIBUTES[i]: round(float(standard[i]), 3) for i in order[:3]}}
    if others.any():
        moved = codes[others][None] + STYLE_AMOUNTS[:, None, None] * d.vector[None, None]
        decoded = model.decode(moved.reshape(-1, model.zdim))
        share = vote.share(decoded, style).reshape(len(STYLE_AMOUNTS), -1).mean(axis=1)
        figures["vote"] = [round(float(s), 4) for s in share]
        figures["works"] = bool(share[1] > share[0] and share[2] > share[1]
                                and share[2] - share[0] >= WORKS_VOTE_GAIN)
    if (~others).any():
        figures["vote_own_loops"] = float(vote.share(grids[~others], style).mean())
    return figures


def build_and_measure(model, corpus, heldout_split: str = "test", loops: int = 400,
                      seed: int = 0) -> tuple[Directions, np.ndarray]:
    """Directions from the corpus's training loops, measured on a held-out split."""
    from vae.directions import build
    train = corpus.split == "train"
    held = corpus.split == heldout_split
    if not held.any():
        held = corpus.split == "validation"
    styles = corpus.labels.get("style")
    directions = build(model.encode(corpus.grids[train]), corpus.grids[train], model.spec,
                       None if styles is None else styles[train],
                       {"corpus": corpus.path.name if corpus.path else "",
                        "manifest_hash": corpus.manifest_hash, "model": model.name})
    if held.any():
        empty = np.array([""] * int(held.sum()))
        matrix = measure(model, directions, corpus.grids[held],
                         empty if styles is None else styles[held], corpus.grids[train],
                         empty if styles is None else styles[train], loops, seed=seed)
        directions.info["measured_on"] = f"{min(loops, int(held.sum()))} {heldout_split} loops"
    else:
        matrix = np.zeros((len(directions.items), len(ATTRIBUTES)))
    return directions, matrix


def attach(model, model_path, corpus, heldout_split: str = "test") -> Directions:
    """Build and measure a VAE's directions, save them beside `model_path` and name the
    file in the model's card (re-saving the model)."""
    from vae.directions import directions_path
    from vae.files import save_model
    directions, _ = build_and_measure(model, corpus, heldout_split)
    path = directions.save(directions_path(model_path))
    model.directions = directions
    model.card = dict(model.card, directions={
        "file": path.name, "method": directions.info["method"],
        "attributes": len(directions.names("attribute")),
        "styles": [n[6:] for n in directions.names("style")],
        "working": [n for n in directions.names() if directions[n].measured.get("works")]})
    save_model(model_path, model)
    return directions


def table(directions: Directions) -> str:
    """The attribute directions' figures in markdown, one row each."""
    lines = ["| direction | slope per +1 | in corpus sds | monotonic -2..+2 | loops never falling "
             "| off-target mean / max (sds) | worst off-target | probe R² | works | selective |",
             "|" + "---|" * 10]
    for name in directions.names("attribute"):
        d = directions[name]
        m = d.measured
        if not m:
            continue
        lines.append(f"| {name} | {m['slope']:+.3f} | {m['slope_sd']:+.2f} | "
                     f"{'yes' if m['monotonic'] else 'no'} | {100 * m['loops_monotonic']:.0f}% | "
                     f"{m['off_target_mean_sd']:.2f} / {m['off_target_max_sd']:.2f} | "
                     f"{m['off_target_max']} | {d.stats.get('probe_r2', float('nan')):.2f} | "
                     f"{'yes' if m['works'] else '**no**'} | "
                     f"{'yes' if m['selective'] else 'no'} |")
    return "\n".join(lines)


def style_table(directions: Directions) -> str:
    """The style directions' nearest-style votes in markdown, one row each."""
    lines = ["| style | training windows | vote at 0 / +1 / +2 | vote of its own held-out loops "
             "| largest attribute moves (sds per +1) | works |", "|" + "---|" * 6]
    for name in directions.names("style"):
        d = directions[name]
        m = d.measured
        vote = " / ".join(f"{100 * v:.1f}%" for v in m.get("vote", [])) or "–"
        own = f"{100 * m['vote_own_loops']:.1f}%" if "vote_own_loops" in m else "– (none)"
        moves = ", ".join(f"{k} {v:+.2f}" for k, v in m.get("largest_moves", {}).items())
        lines.append(f"| {name[6:]} | {d.stats.get('windows', 0)} | {vote} | {own} | {moves} | "
                     f"{'yes' if m.get('works') else '**no**'} |")
    return "\n".join(lines)


def matrix_csv(directions: Directions, matrix: np.ndarray) -> str:
    """Every direction's slope on every attribute, in corpus sds per +1, as CSV."""
    rows = ["direction," + ",".join(ATTRIBUTES)]
    rows += [f"{name}," + ",".join(f"{v:.4f}" for v in row)
             for name, row in zip(directions.names(), matrix)]
    return "\n".join(rows) + "\n"
