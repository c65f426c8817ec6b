"""A comparison's settings, read from a TOML file: which spaces, algorithms, tasks,
budget, seeds and operator settings, and the list of runs they make.

Every mistake in the file becomes one EvodrumError line naming the file and the key.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from evodrum import checks, genotypes
from evodrum.errors import EvodrumError
from evodrum.infile import NotAFile
from evodrum.search import algorithms
from evodrum.search.config import MAX_EVALUATIONS, SearchConfig, setting_defaults
from evodrum.statefile import read_bytes
from fitness import Target

#: Settings a comparison fixes itself; the [search] table may not override them.
FIXED = ("space", "algorithm", "population", "generations", "seed")
TOP_KEYS = ("name", "spaces", "algorithms", "budget", "budgets", "population", "seeds",
            "threshold", "judge", "model", "replicates", "start", "search", "variants",
            "tasks")
#: Where a search's first population comes from: the space's prior, or distinct training
#: loops encoded into the space (drawn with the run's seed).
STARTS = ("prior", "corpus")
#: Algorithms whose first population `start` sets (random search and map-elites always
#: sample the prior: they are the prior's baselines).
STARTED = ("ga", "nsga2", "cmaes")
#: Algorithms that search without a target: one run per space and seed, not per task.
TASKLESS = ("map-elites",)
#: The task name those runs are filed under.
ATLAS = "atlas"
#: Taskless runs per space: this many times `seeds` (they are cheap, and their samples
#: then carry as much weight in the tests as the task suite's).
ATLAS_SEED_FACTOR = 4
TASK_KEYS = ("name", "goals", "weights", "source", "loop")
#: At most this many seeds per (space, algorithm, task) and tasks per comparison.
MAX_SEEDS = 1000
MAX_TASKS = 1000


@dataclass(frozen=True)
class Task:
    """A target-feature goal, and where its values came from (hand-written or a corpus loop)."""

    name: str
    target: Target
    source: str = ""
    loop: dict = field(default_factory=dict)    # judges' scores of the loop it copies


class RunKey(NamedTuple):
    """One independent run of a comparison."""

    task: str
    space: str
    algorithm: str
    seed: int

    @property
    def label(self) -> str:
        return f"{self.task}/{self.space}-{self.algorithm}-s{self.seed:03d}"


@dataclass(frozen=True)
class CompareConfig:
    """Everything that determines a comparison's runs and how its report reads them."""

    name: str
    tasks: tuple[Task, ...]
    spaces: tuple[str, ...] = genotypes.names()
    algorithms: tuple[str, ...] = ("ga", "cmaes")   # the single-objective ones
    budget: int = 10_000          # evaluations per run
    budgets: tuple[int, ...] = ()  # smaller budgets read off the same runs' curves
    population: int = 100         # generations = budget // population
    seeds: int = 30               # independent runs per (space, algorithm, task)
    threshold: float = 0.02       # target error counted as reaching the goal
    judge: str = "markov"         # what Pareto (nsga2) and archive (map-elites) runs optimise
    model: str | None = None      # VAE file or run folder (PCA, well-formedness beside it)
    # Trained replicates of the learned spaces: run seed s uses replicates[s % len], each a
    # {space: model path} (a missing space uses `model`). The judges and well-formedness
    # reference always come from `model`: the instruments stay fixed.
    replicates: tuple[dict, ...] = ()
    start: dict = field(default_factory=dict)             # space -> "prior" or "corpus"
    search: dict = field(default_factory=dict)            # SearchConfig operator settings
    search_by_space: dict = field(default_factory=dict)   # per-space overrides
    # Variants of a space, listed in `spaces` under their own name: {name: {"space": base,
    # search settings...}}, e.g. the VAE drawing from the standard normal, not its prior.
    variants: dict = field(default_factory=dict)

    @property
    def generations(self) -> int:
        return self.budget // self.population

    @property
    def all_budgets(self) -> tuple[int, ...]:
        """Every budget the report reads, ascending, the run's own last."""
        return tuple(sorted(set(self.budgets) | {self.budget}))

    def base(self, space: str) -> str:
        """The genotype space a space or variant name decodes with ('vae-normal' -> 'vae')."""
        return self.variants[space]["space"] if space in self.variants else space

    def pairs(self) -> list[tuple[str, str]]:
        """The pairs of spaces the report tests: every two spaces, and each variant against
        its own space only (a variant is an ablation of one space, not a rival to all)."""
        plain = [s for s in self.spaces if s not in self.variants]
        return [(a, b) for i, a in enumerate(plain) for b in plain[i + 1:]] + \
            [(self.base(v), v) for v in self.spaces if v in self.variants
             and self.base(v) in self.spaces]

    def replicate(self, key: RunKey) -> int:
        """Which trained replicate of its space run `key` searches (0 without replicates)."""
        return key.seed % len(self.replicates) if self.replicates else 0

    def model_for(self, space: str, replicate: int = 0) -> str | None:
        """The model file (or folder) space `space` is decoded by in `replicate`."""
        if not self.replicates:
            return self.model
        return self.replicates[replicate].get(self.base(space), self.model)

    def start_for(self, key: RunKey) -> str:
        """Where run `key`'s first population comes from ('prior' or 'corpus')."""
        where = self.start.get(self.base(key.space), "prior")
        return where if key.algorithm in STARTED else "prior"

    def task(self, name: str) -> Task:
        return next(t for t in self.tasks if t.name == name)

    def uses_judge(self, algorithm: str) -> bool:
        """Whether `algorithm` optimises the config's judge (Pareto or archive search)."""
        return algorithm in TASKLESS or algorithms.algorithm_class(algorithm).multi_objective

    def target(self, task: str) -> Target | None:
        """The target of a task; None for the taskless (atlas) runs."""
        return None if task == ATLAS else self.task(task).target

    @property
    def task_algorithms(self) -> tuple[str, ...]:
        """The algorithms run once per task (all but the taskless ones)."""
        return tuple(a for a in self.algorithms if a not in TASKLESS)

    def runs(self) -> list[RunKey]:
        """Every (task, space, algorithm, seed), in a fixed order; taskless algorithms
        once per space and seed (ATLAS_SEED_FACTOR x seeds), under the task name `atlas`."""
        keys = [RunKey(t.name, s, a, seed) for t in self.tasks for s in self.spaces
                for a in self.task_algorithms for seed in range(self.seeds)]
        return keys + [RunKey(ATLAS, s, a, seed) for a in self.algorithms if a in TASKLESS
                       for s in self.spaces for seed in range(self.seeds * ATLAS_SEED_FACTOR)]

    def search_config(self, key: RunKey) -> SearchConfig:
        """The search settings of one run: population x budget // population generations."""
        base = self.base(key.space)
        settings = dict(self.search, **self.search_by_space.get(base, {}))
        settings.update({k: v for k, v in self.variants.get(key.space, {}).items()
                         if k != "space"})
        if key.algorithm in TASKLESS:
            settings["wellformed_weight"] = 1.0     # an elite's quality is the judge's score
        return SearchConfig.from_options(shared=True, space=base, algorithm=key.algorithm,
                                         population=self.population,
                                         generations=self.generations, seed=key.seed, **settings)


def load_config(path: str | Path) -> CompareConfig:
    """Read and check a comparison file; EvodrumError naming the file and the problem."""
    path = Path(path)
    try:   # a regular file of bounded size (never a pipe); a BOM (Windows editors) is fine
        data = tomllib.loads(read_bytes(path, follow_links=True).decode("utf-8-sig"))
    except NotAFile as e:
        raise EvodrumError(f"{path}: cannot read comparison file ({e.reason})") from None
    except OSError as e:
        raise EvodrumError(f"{path}: cannot read comparison file ({e.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise EvodrumError(f"{path}: not valid TOML ({e})") from None
    except RecursionError:
        raise EvodrumError(f"{path}: {_deepest_key(path)} is nested too deeply (tables or "
                           "lists inside each other hundreds of levels down)") from None
    try:
        return parse_config(data, default_name=path.stem)
    except EvodrumError as e:
        raise EvodrumError(f"{path}: {e}") from None


def parse_config(data: dict, default_name: str = "comparison") -> CompareConfig:
    """A CompareConfig from the parsed TOML tables (EvodrumError without the file name)."""
    _no_unknown(data, TOP_KEYS, "top-level key")
    search, by_space = _search_tables(data.get("search", {}))
    budgets = _budgets(data.get("budgets"), data.get("budget"))
    variants = _variants(data.get("variants"))
    config = CompareConfig(
        name=checks.name(data.get("name", default_name), "name"),
        tasks=_tasks(data.get("tasks")),
        spaces=_choices(data.get("spaces", list(CompareConfig.spaces)),
                        genotypes.names() + tuple(variants), "spaces"),
        algorithms=_choices(data.get("algorithms", list(CompareConfig.algorithms)),
                            algorithms.names(), "algorithms"),
        budget=max(budgets) if budgets else checks.integer(data.get("budget", 10_000), "budget",
                                                           1, MAX_EVALUATIONS),
        budgets=tuple(budgets),
        population=checks.integer(data.get("population", 100), "population", 4, 100_000),
        seeds=checks.integer(data.get("seeds", 30), "seeds", 1, MAX_SEEDS),
        threshold=checks.number(data.get("threshold", 0.02), "threshold", 0, 1),
        judge=_judge(data.get("judge", "markov")),
        model=_model(data.get("model")),
        replicates=_replicates(data.get("replicates")), start=_start(data.get("start")),
        search=search, search_by_space=by_space, variants=variants)
    if config.replicates and config.seeds % len(config.replicates):
        raise EvodrumError(f"seeds ({config.seeds}) must be a multiple of the number of "
                           f"replicates ({len(config.replicates)}): seed s runs replicate "
                           "s % replicates, so each gets as many")
    if config.budget < config.population:
        raise EvodrumError(f"budget ({config.budget}) must be at least population "
                           f"({config.population}): generations = budget // population")
    if config.all_budgets[0] < config.population:
        raise EvodrumError(f"budgets ({config.all_budgets[0]}) must be at least population "
                           f"({config.population}): generations = budget // population")
    for space in config.spaces:               # surface operator mistakes now, not in a worker
        for algorithm in config.algorithms:
            try:
                config.search_config(RunKey(config.tasks[0].name, space, algorithm, 0))
            except EvodrumError as e:
                raise EvodrumError(f"[search] for space {space}, algorithm {algorithm}: {e}") \
                    from None
    return config


# --- checks ------------------------------------------------------------------

def _no_unknown(table: dict, allowed, what: str) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise EvodrumError(f"unknown {what} {unknown[0]!r} (allowed: {', '.join(allowed)})")


def _deepest_key(path: Path) -> str:
    """The key whose value opens the most brackets, for a file too deep to parse."""
    best, depth = "a value", 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        key = re.match(r"\s*([^=\s\[{]+)\s*=", line)
        if key and line.count("[") + line.count("{") > depth:
            best, depth = f"key {key.group(1)!r}", line.count("[") + line.count("{")
    return best




def _budgets(value, budget) -> list[int]:
    """`budgets = [1000, 10000]`: each run gets the largest; the report also reads every
    run at the smaller ones (an algorithm's first N evaluations do not depend on its
    total budget, so that is the N-evaluation run)."""
    if value is None:
        return []
    if not isinstance(value, list) or not value:
        raise EvodrumError(f"budgets must be a non-empty list such as [1000, 10000], got {value!r}")
    budgets = [checks.integer(b, "budgets", 1, MAX_EVALUATIONS) for b in value]
    if budget is not None and budget != max(budgets):
        raise EvodrumError(f"budget ({budget}) must be the largest of budgets {budgets} "
                           "(or left out)")
    return sorted(set(budgets))


def _replicates(value) -> tuple[dict, ...]:
    """`replicates = [{ vae = "a/model.pt", pca = "a" }, ...]`: model files per learned space."""
    if value is None:
        return ()
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        raise EvodrumError("replicates must be a list of tables such as "
                           '[{ vae = "runs/train-s1/model.pt", pca = "runs/pca-r1" }]')
    for i, table in enumerate(value, 1):
        for space, path in table.items():
            if space not in genotypes.SPACES or genotypes.entry(space).kind.cell_genes:
                raise EvodrumError(f"replicate {i}: {space!r} is not a learned space")
            _optional_text(path, f"replicate {i} {space}")
            if not _model_files_exist(space, path):
                raise EvodrumError(f"replicate {i}: no {space} model at {path} (paths are read "
                                   "from the folder the command runs in, like model)")
    return tuple(dict(v) for v in value)


def _model_files_exist(space: str, path: str) -> bool:
    """Whether `path` holds space `space`'s model itself (a replicate never falls back to
    the shipped one: that would silently repeat the default model)."""
    from evodrum.genotypes import files
    if space == "pca":
        return (Path(path) / files.PCA_FILE).is_file() or \
            (Path(path).suffix == ".npz" and Path(path).is_file())
    from vae.files import resolve
    return resolve(path).is_file()


def _variants(value) -> dict:
    """`[variants.vae-normal]` tables: `space = "vae"` and the search settings that differ
    (e.g. `prior = "normal"`); the variant runs under its own name in `spaces`."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise EvodrumError('variants must be tables such as [variants.vae-normal] with '
                           'space = "vae" and prior = "normal"')
    allowed = [name for name in setting_defaults() if name not in FIXED]
    for name, table in value.items():
        checks.name(name, "variant name")
        if name in genotypes.SPACES:
            raise EvodrumError(f"variant {name!r} has the name of a space: give it its own")
        if not isinstance(table.get("space"), str) or table["space"] not in genotypes.SPACES:
            raise EvodrumError(f"variant {name}: space must be one of "
                               f"{', '.join(genotypes.names())}, got {table.get('space')!r}")
        settings = {k: v for k, v in table.items() if k != "space"}
        if not settings:
            raise EvodrumError(f"variant {name}: give the search settings it changes, "
                               'e.g. prior = "normal"')
        _no_unknown(settings, allowed, f"setting in variant {name}")
        for key, setting in settings.items():
            _check_type(key, setting)
    return {name: dict(table) for name, table in value.items()}


def _start(value) -> dict:
    """`start = { grid = "corpus" }`: where each space's GA and NSGA-II begin."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EvodrumError('start must be a table such as { grid = "corpus" }')
    for space, where in value.items():
        genotypes.entry(space)
        if where not in STARTS:
            raise EvodrumError(f"start.{space} must be {' or '.join(STARTS)}, got {where!r}")
    return dict(value)


def _judge(value) -> str:
    from fitness.judges import NAMES
    if value not in NAMES:
        raise EvodrumError(f"judge must be one of {', '.join(NAMES)}, got {value!r}")
    return value


def _optional_text(value, key: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise EvodrumError(f"{key} must be a path string, got {value!r}")
    return value


def _model(value) -> str | None:
    """The model path, checked even when only the grid space runs: the well-formedness
    reference and judges every run is scored with are read from beside it."""
    model = _optional_text(value, "model")
    if model is None:
        return None
    from vae.files import check_model_file, resolve
    try:
        check_model_file(resolve(model))
    except EvodrumError as e:
        raise EvodrumError(f"model: {e}") from None
    return model


def _choices(value, allowed: tuple[str, ...], key: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list) or not value:
        raise EvodrumError(f"{key} must be a non-empty list such as {list(allowed)!r}")
    for v in value:
        if v not in allowed:
            raise EvodrumError(f"{key}: unknown {v!r} (use {', '.join(allowed)})")
    if len(set(value)) != len(value):
        raise EvodrumError(f"{key}: {value!r} names one twice")
    return tuple(value)


def _search_tables(table) -> tuple[dict, dict]:
    """The common [search] settings and the per-space [search.SPACE] overrides."""
    if not isinstance(table, dict):
        raise EvodrumError("[search] must be a table of SearchConfig settings")
    allowed = [name for name in setting_defaults() if name not in FIXED]
    common, by_space = {}, {}
    for key, value in table.items():
        if key in genotypes.SPACES and isinstance(value, dict):
            _no_unknown(value, allowed, f"[search.{key}] setting")
            by_space[key] = dict(value)
        elif key in FIXED:
            raise EvodrumError(f"[search] may not set {key!r}: the comparison sets it "
                               "(spaces, algorithms, population, budget, seeds)")
        else:
            _no_unknown({key: value}, allowed, "[search] setting")
            common[key] = value
    for settings in (common, *by_space.values()):
        for key, value in settings.items():
            _check_type(key, value)
    return common, by_space


def _check_type(key: str, value) -> None:
    """A setting has the type of SearchConfig's default (a number for numeric ones)."""
    default = setting_defaults()[key]
    numeric = default is None or isinstance(default, (int, float))
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) if numeric \
        else isinstance(value, type(default))
    if not ok:
        kind = "a number" if numeric else f"a {type(default).__name__}"
        raise EvodrumError(f"[search] {key} must be {kind}, got {value!r}")


def _tasks(value) -> tuple[Task, ...]:
    if not isinstance(value, list) or not value:
        raise EvodrumError("no tasks: add [[tasks]] tables with name and goals "
                           "(e.g. goals = { density = 0.4 })")
    if len(value) > MAX_TASKS:
        raise EvodrumError(f"tasks: {len(value)} tasks, more than {MAX_TASKS}")
    tasks = []
    for i, t in enumerate(value, 1):
        if not isinstance(t, dict):
            raise EvodrumError(f"task {i} must be a [[tasks]] table")
        _no_unknown(t, TASK_KEYS, f"key in task {i}")
        name = checks.name(t.get("name"), f"task {i} name")
        goals, weights = t.get("goals"), t.get("weights", {})
        if not isinstance(goals, dict) or not isinstance(weights, dict):
            raise EvodrumError(f"task {name}: goals (and weights) must be tables such as "
                               "{ density = 0.4, \"hats.syncopation\" = 0.3 }")
        try:
            target = Target(goals, weights)
        except (EvodrumError, TypeError, ValueError) as e:
            raise EvodrumError(f"task {name}: {e}") from None
        loop = t.get("loop", {})
        if not isinstance(loop, dict) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in loop.values()):
            raise EvodrumError(f"task {name}: loop must be a table of judge scores such as "
                               "{ markov = 0.6, classifier = 0.4 }")
        tasks.append(Task(name, target, str(t.get("source", "")), dict(loop)))
    names = [t.name for t in tasks]
    if ATLAS in names:
        raise EvodrumError(f"task name {ATLAS!r} is kept for the map-elites runs")
    if len(set(names)) != len(names):
        raise EvodrumError(f"task names must be distinct, got {names}")
    return tuple(tasks)
