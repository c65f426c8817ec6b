"""Breeding the next generation from the user's ratings, with DEAP's operators.

Who may be a parent (the pool), from the generation on screen plus kept favourites:
- a loop rated 1..9 weighs its rating; 0 means "dislike": never a parent;
- a favourite without a rating weighs 9 (you marked it as a best one);
- unrated loops are left out, unless you gave no opinion at all (no rating, no
  favourite): then every loop is neutral and the next generation explores around
  all of them.

A new generation is, in screen order: the favourites (elitism, up to half of it,
best rated first), children, then `fresh` new loops from the prior. Each child
picks parents by binary tournament on rating (`tools.selTournament`); with
probability `blend` two different parents are blended (`tools.cxBlend`) and
nudged by half the mutation, otherwise one parent is varied (`tools.mutGaussian`
on every gene, sigma = adventure x the prior's standard deviation). If nobody is
in the pool (everything rated 0), the whole new part is fresh.

All randomness comes from the session's numpy generator (it seeds Python's
`random`, which DEAP's operators use), whose state is saved with the session.
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from deap import base, tools

from evodrum.genotypes import Space
from evodrum.grid import quantize_velocity
from evodrum.interactive.models import fingerprint
from evodrum.interactive.session import RATING_MAX, Generation, Loop, Session, Settings
from evodrum.search.individuals import Individual, genotypes

#: Favourites kept per generation, as a share of its loops (the rest is new).
KEPT_SHARE = 0.5
#: A blended child is also mutated, by this share of the adventure, so two blends
#: of the same pair differ.
BLEND_MUTATION = 0.5
#: Times a child that sounds exactly like another loop is mutated again.
DISTINCT_TRIES = 3


def make_toolbox(settings: Settings, space: Space) -> base.Toolbox:
    """mate (cxBlend), vary and nudge (mutGaussian, full and half sigma), select."""
    sigma = settings.adventure * space.prior_std
    tb = base.Toolbox()
    tb.register("mate", tools.cxBlend, alpha=settings.alpha)
    tb.register("vary", tools.mutGaussian, mu=0.0, sigma=sigma, indpb=1.0)
    tb.register("nudge", tools.mutGaussian, mu=0.0, sigma=BLEND_MUTATION * sigma, indpb=1.0)
    tb.register("select", tools.selTournament, tournsize=2)
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


def kept_favourites(session: Session) -> list[Loop]:
    """The favourites that join the next generation (none without elitism)."""
    if not session.settings.keep_favourites:
        return []
    ranked = sorted(session.favourites(),
                    key=lambda lp: (RATING_MAX if lp.rating is None else lp.rating, lp.id),
                    reverse=True)
    return ranked[:int(KEPT_SHARE * session.settings.loops)]


def offspring(tb: base.Toolbox, pool: list[Loop], weights: dict[int, int], n: int,
              blend: float) -> tuple[list, list[str], list[tuple[int, ...]]]:
    """n children of the pool: (DEAP individuals, operator names, parent ids)."""
    parents = [Individual(lp.genotype.tolist()) for lp in pool]
    for ind, lp in zip(parents, pool):
        ind.fitness.values = (RATING_MAX - weights[lp.id],)  # distance from "love it"
        ind.loop_id = lp.id
    children, ops, lineage = [], [], []
    for _ in range(n):
        a, b = map(tb.clone, tb.select(parents, 2))
        if a.loop_id != b.loop_id and random.random() < blend:
            tb.mate(a, b)
            tb.nudge(a)
            ops.append("blend")
            lineage.append((a.loop_id, b.loop_id))
        else:
            tb.vary(a)
            ops.append("vary")
            lineage.append((a.loop_id,))
        children.append(a)
    return children, ops, lineage


def _decode(space: Space, genes: np.ndarray) -> np.ndarray:
    return quantize_velocity(space.decode(genes))


def distinct(tb: base.Toolbox, space: Space, children: list, others: list[np.ndarray]
             ) -> tuple[np.ndarray, np.ndarray]:
    """Genotypes and grids of the children, re-mutating any child whose grid repeats
    an earlier child or one of `others` (up to DISTINCT_TRIES times)."""
    genes = space.clip(genotypes(children)) if children else np.zeros((0, space.dim))
    grids = _decode(space, genes) if len(genes) else np.zeros((0, *space.spec.shape), np.float32)
    for _ in range(DISTINCT_TRIES):
        seen = {g.tobytes() for g in others}
        repeats = []
        for i, grid in enumerate(grids):
            key = grid.tobytes()
            if key in seen:
                repeats.append(i)
            seen.add(key)
        if not repeats:
            break
        for i in repeats:
            tb.vary(children[i])
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
    children, ops, lineage = offspring(tb, pool, weights, n_children, session.settings.blend)
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
    """Add the next generation, bred from the one on screen, and show it."""
    settings = session.settings
    kept = kept_favourites(session)
    candidates = {lp.id: lp for lp in session.shown() + kept}
    weights = parent_weights(list(candidates.values()))
    pool = [candidates[i] for i in weights]
    n_new = settings.loops - len(kept)
    n_fresh = min(settings.fresh, n_new) if pool else n_new
    rng = _rng(session)
    loops = _new_loops(session, space, rng, pool, weights, n_new - n_fresh, n_fresh,
                       [lp.grid for lp in candidates.values()])
    return session.adopt(loops, kept, session.current, rng.bit_generator.state)


def new_session(settings: Settings, space: Space) -> Session:
    """A session whose first generation is the seed loops (encoded), children bred from
    them and fresh prior samples; without seed loops, prior samples only."""
    from evodrum.search.target import seed_genotypes
    session = Session(settings, space.spec, fingerprint(space),
                      np.random.default_rng(settings.seed).bit_generator.state)
    rng = _rng(session)
    seeds = []
    if settings.seed_loops:
        genes = space.clip(seed_genotypes(space, list(settings.seed_loops)))
        seeds = [Loop(i + 1, genes[i], g, "seed", (), 0, Path(p).name)
                 for i, (p, g) in enumerate(zip(settings.seed_loops, _decode(space, genes)))]
        for lp in seeds:
            session.loops[lp.id] = lp
    n_new = settings.loops - len(seeds)
    n_children = max(0, n_new - settings.fresh) if seeds else 0  # seeds may fill it all
    loops = _new_loops(session, space, rng, seeds, {lp.id: 1 for lp in seeds}, n_children,
                       n_new - n_children, [lp.grid for lp in seeds])
    session.adopt(loops, seeds, None, rng.bit_generator.state)
    return session
