"""Breeding the next generation from the user's ratings, with DEAP's operators.

Who may be a parent (the pool), from the generation on screen plus kept loops:
- a loop rated 1..9 weighs its rating; 0 means "dislike": never a parent;
- a favourite without a rating weighs 9 (you marked it as a best one);
- unrated loops are left out, unless you gave no opinion at all (no rating, no
  favourite): then every loop is neutral and the next generation explores around
  all of them.

A new generation is, in screen order: the kept loops (elitism: favourites, then
loops rated 9, up to half of it, best rated first), children, then `fresh` new
loops from the prior. Children are shared out by rating rank with stochastic
universal sampling (SUS; Baker 1987): linear ranking, ties sharing their rank,
so the user's own scale (5-9 or 1-9) does not matter. Two rules make the
share a promise rather than an average: every loop at the pool's top rating
gets a child when there are enough children, and the child counts go out in
rank order, so a loop never has more children than a loop rated above it.
Exactly round(blend x children) children are blends (`tools.cxBlend` of the
child's parent and a second, different parent drawn by the same rank shares,
nudged by half the mutation); the others are variations (`tools.mutGaussian` on
every gene, sigma = adventure x the prior's standard deviation). With a single
parent no blend is possible, and the controller says so. If nobody is in the
pool (everything rated 0), the whole new part is fresh.

All randomness comes from the session's numpy generator (it seeds Python's
`random`, which DEAP's operators use), whose state is saved with the session.
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from deap import base, tools

from evodrum import midi
from evodrum.genotypes import Space
from evodrum.genotypes.locked import locked
from evodrum.grid import quantize_velocity
from evodrum.interactive.models import fingerprint
from evodrum.interactive.tempo import with_tempo
from evodrum.interactive.session import RATING_MAX, Generation, Loop, Session, Settings
from evodrum.kit import ROWS
from evodrum.lock import Lock
from evodrum.search.distinct import MIN_DIFFERENT_CELLS as MIN_DISTINCT
from evodrum.search.individuals import Individual, genotypes

#: Kept loops per generation (favourites, loops rated 9), as a share of its loops.
KEPT_SHARE = 0.5
#: Loops rated this are kept unchanged in the next generation, like favourites.
KEEP_RATING = RATING_MAX
#: Linear ranking's selection pressure: the best-ranked loop expects this many times
#: the mean share of children, the worst 2 - this (Baker's s, within [1, 2]).
SELECTION_PRESSURE = 1.7
#: A blended child is also mutated, by this share of the adventure, so two blends
#: of the same pair differ.
BLEND_MUTATION = 0.5
#: A variety floor: a child is mutated again (each time further, x VARIETY_GROWTH) while
#: its hits lie fewer than this many cells from another loop of the generation or its
#: parents (the same floor as `target`'s distinct results), up to DISTINCT_TRIES times.
MIN_DIFFERENT_CELLS = MIN_DISTINCT
DISTINCT_TRIES = 6
VARIETY_GROWTH = 1.4
#: Blends drawn per blended child; the one keeping most of what both parents play is kept
#: (a blend of two loops that both open the bar on a kick opens it on a kick).
BLEND_DRAWS = 8
#: A shared kick on a bar's first beat weighs this many other shared hits.
DOWNBEAT_KICK_WEIGHT = 8


def make_toolbox(settings: Settings, space: Space) -> base.Toolbox:
    """mate (cxBlend), vary and nudge (mutGaussian, full and half sigma)."""
    sigma = settings.adventure * space.prior_std
    tb = base.Toolbox()
    tb.register("mate", tools.cxBlend, alpha=settings.alpha)
    tb.register("vary", tools.mutGaussian, mu=0.0, sigma=sigma, indpb=1.0)
    tb.register("nudge", tools.mutGaussian, mu=0.0, sigma=BLEND_MUTATION * sigma, indpb=1.0)
    tb.sigma = sigma
    return tb


def parent_weights(loops: list[Loop]) -> dict[int, int]:
    """loop id -> selection weight (1..9) of the loops that may be parents."""
    opinion = any(lp.rating is not None or lp.favourite for lp in loops)
    weights = {}
    for lp in loops:
        if lp.rating is not None:
            weight = lp.rating
        elif lp.favourite:
            weight = RATING_MAX
        else:
            weight = 0 if opinion else (RATING_MAX + 1) // 2
        if weight > 0:
            weights[lp.id] = weight
    return weights


def kept_loops(session: Session) -> list[Loop]:
    """The loops that join the next generation unchanged (none without elitism):
    favourites (anywhere in the session), then loops on screen rated KEEP_RATING,
    each best rated first, then newest, up to KEPT_SHARE of a generation."""
    if not session.settings.keep_favourites:
        return []

    def best_first(loops):
        return sorted(loops, key=lambda lp: (RATING_MAX if lp.rating is None else lp.rating,
                                             lp.id), reverse=True)
    loved = [lp for lp in session.shown() if lp.rating == KEEP_RATING and not lp.favourite]
    return (best_first(session.favourites()) + best_first(loved))[
        :int(KEPT_SHARE * session.settings.loops)]


def rank_shares(weights: np.ndarray) -> np.ndarray:
    """Each parent's share of the children (sums to 1): linear ranking on `weights`,
    tied weights sharing the mean of their ranks."""
    n = len(weights)
    if n == 1:
        return np.ones(1)
    order = np.argsort(weights, kind="stable")
    ranks = np.empty(n)
    ranks[order] = np.arange(n)
    _, tie, counts = np.unique(weights, return_inverse=True, return_counts=True)
    ranks = np.bincount(tie, ranks)[tie] / counts[tie]          # ties: mean rank
    s = SELECTION_PRESSURE
    share = (2 - s) + 2 * (s - 1) * ranks / (n - 1)
    return share / share.sum()


def sus(expected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Stochastic universal sampling: integer counts summing to round(expected.sum()),
    each floor or ceil of its expectation (one random offset, evenly spaced pointers)."""
    n = int(round(expected.sum()))
    if n == 0:
        return np.zeros(len(expected), int)
    pointers = rng.random() + np.arange(n)
    edges = np.cumsum(expected) * n / expected.sum()
    return np.bincount(np.searchsorted(edges, pointers, side="right"), minlength=len(expected)
                       )[:len(expected)]


def allocate(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Children per parent (sums to n): a child for each top-rated parent first (when n
    allows), the rest by rank-share SUS, handed out in rank order (random among ties)
    so a parent never gets more children than one rated above it."""
    counts = np.zeros(len(weights), int)
    top = weights == weights.max()
    if n >= top.sum():
        counts[top] = 1
    rest = n - counts.sum()
    drawn = np.sort(sus(rest * rank_shares(weights), rng))[::-1]
    order = np.lexsort((rng.random(len(weights)), -weights))  # best first, ties shuffled
    counts[order] += drawn
    return counts


def shared_hits_kept(grids: np.ndarray, a: np.ndarray, b: np.ndarray, spec) -> np.ndarray:
    """(N,) how much of what both parents `a` and `b` play each grid keeps: shared hits
    kept, a shared kick on a bar's first beat counting DOWNBEAT_KICK_WEIGHT."""
    shared = (a > 0) & (b > 0)
    weight = shared.astype(float)
    downbeats = np.arange(0, spec.steps, spec.steps_per_bar)
    weight[ROWS.index("BD"), downbeats] *= DOWNBEAT_KICK_WEIGHT
    return ((grids > 0) * weight).sum(axis=(1, 2))


def _blend(tb: base.Toolbox, a: Loop, b: Loop, space: Space | None) -> Individual:
    """A blend of `a` and `b` (cxBlend, then nudged): of BLEND_DRAWS drawn, the one that
    keeps most of what both parents play (one draw without a space to decode in)."""
    draws = []
    for _ in range(BLEND_DRAWS if space is not None else 1):
        child, other = Individual(a.genotype.tolist()), Individual(b.genotype.tolist())
        tb.mate(child, other)
        tb.nudge(child)
        draws.append(child)
    if len(draws) == 1:
        return draws[0]
    grids = _decode(space, space.clip(genotypes(draws)))
    return draws[int(np.argmax(shared_hits_kept(grids, a.grid, b.grid, space.spec)))]


def offspring(tb: base.Toolbox, pool: list[Loop], weights: dict[int, int], n: int,
              blend: float, rng: np.random.Generator, space: Space | None = None
              ) -> tuple[list, list[str], list[tuple[int, ...]]]:
    """n children of the pool: (DEAP individuals, operator names, parent ids).

    Parents by `allocate`; exactly round(blend x n) of the children are blends
    (when the pool has two loops or more), chosen at random among them; with a
    `space`, each blend keeps what both its parents play where it can (`_blend`)."""
    if n == 0:
        return [], [], []
    w = np.array([weights[lp.id] for lp in pool], float)
    counts = allocate(w, n, rng)
    firsts = np.repeat(np.arange(len(pool)), counts)
    rng.shuffle(firsts)
    n_blend = int(round(blend * n)) if len(pool) > 1 else 0
    blends = np.zeros(n, bool)
    blends[rng.choice(n, n_blend, replace=False)] = True
    shares = rank_shares(w)
    children, ops, lineage = [], [], []
    for first, blended in zip(firsts, blends):
        a = Individual(pool[first].genotype.tolist())
        if blended:
            others = shares.copy()
            others[first] = 0.0
            second = int(rng.choice(len(pool), p=others / others.sum()))
            a = _blend(tb, pool[first], pool[second], space)
            ops.append("blend")
            lineage.append((pool[first].id, pool[second].id))
        else:
            tb.vary(a)
            ops.append("vary")
            lineage.append((pool[first].id,))
        children.append(a)
    return children, ops, lineage


def _decode(space: Space, genes: np.ndarray) -> np.ndarray:
    return quantize_velocity(space.decode(genes))


def near_copies(grids: np.ndarray, others: list[np.ndarray], min_cells: int) -> list[int]:
    """Indices of `grids` whose hits lie fewer than `min_cells` cells from one of `others`
    or from an earlier grid of the batch."""
    onsets = grids.reshape(len(grids), -1) > 0 if len(grids) else []
    seen = [np.asarray(o).reshape(-1) > 0 for o in others]
    close = []
    for i, row in enumerate(onsets):
        if seen and (np.stack(seen) != row).sum(axis=1).min() < min_cells:
            close.append(i)
        seen.append(row)
    return close


def distinct(tb: base.Toolbox, space: Space, children: list, others: list[np.ndarray]
             ) -> tuple[np.ndarray, np.ndarray]:
    """Genotypes and grids of the children, re-mutating (further each time) any child
    that is a near-copy of an earlier child or of one of `others` (the variety floor,
    MIN_DIFFERENT_CELLS), up to DISTINCT_TRIES times."""
    genes = space.clip(genotypes(children)) if children else np.zeros((0, space.dim))
    grids = _decode(space, genes) if len(genes) else np.zeros((0, *space.spec.shape), np.float32)
    for attempt in range(DISTINCT_TRIES):
        repeats = near_copies(grids, others, MIN_DIFFERENT_CELLS)
        if not repeats:
            break
        for i in repeats:
            tools.mutGaussian(children[i], 0.0, tb.sigma * VARIETY_GROWTH ** attempt, 1.0)
        genes[repeats] = space.clip(genotypes([children[i] for i in repeats]))
        grids[repeats] = _decode(space, genes[repeats])
    return genes, grids


def _rng(session: Session) -> np.random.Generator:
    """The session's generator at its saved state; also seeds DEAP's `random` from it."""
    rng = np.random.default_rng()
    rng.bit_generator.state = session.rng_state
    random.seed(int(rng.integers(2**63)))
    return rng


def _new_loops(session: Session, space: Space, rng: np.random.Generator, pool: list[Loop],
               weights: dict[int, int], n_children: int, n_fresh: int,
               others: list[np.ndarray]) -> list[Loop]:
    """Children of the pool, then fresh prior samples, as Loops of a new generation."""
    tb = make_toolbox(session.settings, space)
    children, ops, lineage = offspring(tb, pool, weights, n_children, session.settings.blend,
                                       rng, space)
    genes, grids = distinct(tb, space, children, others)
    fresh = space.clip(space.random(n_fresh, rng))
    genes = np.concatenate([genes, fresh])
    grids = np.concatenate([grids, _decode(space, fresh)])
    ops += ["prior"] * n_fresh
    lineage += [()] * n_fresh
    born, first = len(session.generations), session.next_id()
    return [Loop(first + i, genes[i], grids[i], ops[i], lineage[i], born)
            for i in range(len(genes))]


def breed(session: Session, space: Space) -> Generation:
    """Add the next generation, bred from the one on screen, and show it. The ratings
    it was bred on are recorded with it (they may change later; the record does not)."""
    settings = session.settings
    space = locked(space, session.lock)
    kept = kept_loops(session)
    candidates = {lp.id: lp for lp in session.shown() + kept}
    weights = parent_weights(list(candidates.values()))
    pool = [candidates[i] for i in weights]
    n_new = settings.loops - len(kept)
    n_fresh = min(settings.fresh, n_new) if pool else n_new
    rng = _rng(session)
    loops = _new_loops(session, space, rng, pool, weights, n_new - n_fresh, n_fresh,
                       [lp.grid for lp in candidates.values()])
    bred_on = {lp.id: lp.rating for lp in session.shown()}
    return session.adopt(loops, kept, session.current, rng.bit_generator.state, bred_on)


def new_session(settings: Settings, space: Space) -> Session:
    """A session whose first generation is the seed loops (the model's reconstruction of
    each file, which keeps the file's own grid to play), children bred from them and
    fresh prior samples; without seed loops, prior samples only. Its tempo is settled
    here: the settings', else the first seed loop's, else 120 (`tempo.session_tempo`)."""
    settings = with_tempo(settings, space.spec)
    session = Session(settings, space.spec, fingerprint(space),
                      np.random.default_rng(settings.seed).bit_generator.state)
    rng = _rng(session)
    seeds = []
    if settings.seed_loops:
        played = [midi.read_seed(p, space.spec, settings.drum_map, settings.drum_channel)
                  for p in settings.seed_loops]
        originals = np.stack([lp.velocities for lp in played])
        if settings.lock:               # the rows as played: velocities and timing
            session.lock = Lock.of_loop(settings.lock, played[0])
            space = locked(space, session.lock)
        genes = space.clip(space.encode(originals, settings.refine))
        seeds = [Loop(i + 1, genes[i], g, "seed", (), 0, Path(p).name, original=o,
                      original_offsets=lp.offsets)
                 for i, (p, g, o, lp) in enumerate(zip(settings.seed_loops,
                                                       _decode(space, genes),
                                                       quantize_velocity(originals), played))]
        for lp in seeds:
            session.loops[lp.id] = lp
    n_new = settings.loops - len(seeds)
    n_children = max(0, n_new - settings.fresh) if seeds else 0  # seeds may fill it all
    loops = _new_loops(session, space, rng, seeds, {lp.id: 1 for lp in seeds}, n_children,
                       n_new - n_children, [lp.grid for lp in seeds])
    session.adopt(loops, seeds, None, rng.bit_generator.state)
    return session


def vary_from(session: Session, space: Space, genotype: np.ndarray | None,
              edited: np.ndarray | None, parent: int | None,
              before: np.ndarray | None = None) -> Generation:
    """A new generation around a loop the user made by hand (steered, blended on the
    palette or with cells toggled): that loop first (op "edit"), then variations of it
    and the usual fresh loops. An `edited` grid is encoded; the cells the edit changed
    from `before` (the loop as it was before the hand edits) are locked from now on
    (`Session.lock`), so they stay in this loop and every loop bred after it while the
    model fills the rest, and the edit is kept as the loop's original."""
    rng = _rng(session)
    if edited is not None:
        edited = quantize_velocity(edited)
        if before is not None:
            edit = Lock.of_edit(edited, before)
            session.set_lock(edit if session.lock is None else session.lock | edit)
        genotype = space.encode(edited[None])[0]
    space = locked(space, session.lock)
    genes = space.clip(np.asarray(genotype, np.float64)[None])
    loop = Loop(session.next_id(), genes[0], _decode(space, genes)[0], "edit",
                () if parent is None else (parent,), len(session.generations), original=edited)
    session.loops[loop.id] = loop
    n_fresh = min(session.settings.fresh, session.settings.loops - 1)
    loops = _new_loops(session, space, rng, [loop], {loop.id: RATING_MAX},
                       session.settings.loops - 1 - n_fresh, n_fresh, [loop.grid])
    bred_on = {lp.id: lp.rating for lp in session.shown()}
    return session.adopt(loops, [loop], session.current, rng.bit_generator.state, bred_on)
