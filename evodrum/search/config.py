"""Search settings: everything that, with the seed, determines a run's result.

`SearchConfig` holds what every algorithm shares (space, budget, seed, objective,
bounds repair); `settings` holds the chosen algorithm's own settings, checked and
completed by that algorithm's `Settings` dataclass (see `evodrum.search.algorithms`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from evodrum import checks, genotypes
from evodrum.errors import EvodrumError

REPAIRS = ("clip", "penalty")
#: The most evaluations one search may ask for (population x generations).
MAX_EVALUATIONS = 10**8
#: How much `target` (and the studio's Target view) weighs staying like real drumming.
DEFAULT_WELLFORMED_WEIGHT = 0.1
#: `target`'s patience: over 3 targets x 10 seeds, every run stopped this way ended
#: with the fitness of its full 100 generations, using 27% of the evaluations (28 of
#: 30 stopped at the resolution floor); 20 and 30 left 2 of 30 runs worse.
DEFAULT_PATIENCE = 50


#: Settings added after runs were saved, with the value that reproduces those runs.
LATER_SETTINGS = {"patience": 0, "prior": "normal"}


@dataclass(frozen=True)
class SearchConfig:
    """One search: space, algorithm, budget, objective, bounds repair, seed and the
    algorithm's own settings (`settings`, completed with its defaults)."""

    space: str = "vae"
    algorithm: str = "ga"
    population: int = 100
    generations: int = 100
    seed: int = 0
    # bounds: clip into them, or (latent spaces) a penalty on leaving the prior's bulk
    repair: str = "clip"
    prior_weight: float = 0.05
    # objective
    wellformed_weight: float = 0.0
    # where fresh genotypes come from: the model's learned prior, or the standard normal
    prior: str = "learned"
    checkpoint_every: int = 10
    # stop after this many generations without a better best (0 = run them all)
    patience: int = 0
    settings: dict = field(default_factory=dict)

    def __post_init__(self):
        from evodrum.search.algorithms import algorithm_class
        def bad(name, allowed):
            raise EvodrumError(f"{name} must be {allowed}, got {getattr(self, name)!r}")
        genotypes.entry(self.space)
        cls = algorithm_class(self.algorithm)
        if self.repair not in REPAIRS:
            bad("repair", " or ".join(REPAIRS))
        if self.prior not in ("learned", "normal"):
            bad("prior", "learned or normal")
        checks.integer(self.population, "population", 4, 100_000)
        checks.integer(self.generations, "generations", 1, MAX_EVALUATIONS // self.population)
        checks.seed(self.seed)
        checks.integer(self.checkpoint_every, "checkpoint_every", 1, 1_000_000)
        checks.integer(self.patience, "patience", 0, 1_000_000)
        checks.weight(self.wellformed_weight, "wellformed_weight")
        checks.weight(self.prior_weight, "prior_weight")
        known = {f.name for f in fields(cls.Settings)}
        unknown = sorted(set(self.settings) - known)
        if unknown:
            raise EvodrumError(f"{', '.join(unknown)}: not a setting of algorithm "
                               f"{self.algorithm} (its settings: {', '.join(sorted(known)) or 'none'})")
        operators = cls.Settings(**self.settings)
        operators.check(self)
        object.__setattr__(self, "settings", asdict(operators))

    @property
    def operators(self):
        """The algorithm's own settings as its `Settings` dataclass."""
        from evodrum.search.algorithms import algorithm_class
        return algorithm_class(self.algorithm).Settings(**self.settings)

    def to_dict(self) -> dict:
        """Plain data; settings added later are left out at the value that means what
        runs did before them, so older job files, checkpoints and a comparison's run
        hashes still match."""
        d = asdict(self)
        for name, old in LATER_SETTINGS.items():
            if d[name] == old:
                del d[name]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SearchConfig":
        """The config `to_dict` wrote (flat algorithm settings, as older job files hold
        them, are accepted too)."""
        d = {**LATER_SETTINGS, **d}   # a setting a file lacks: what runs did before it
        settings = dict(d.pop("settings", {}))
        return cls.from_options(settings=settings, **d)

    @classmethod
    def from_options(cls, *, shared: bool = False, settings: dict | None = None,
                     **options) -> "SearchConfig":
        """A config from flat options (CLI flags, a comparison's [search] table): the
        common ones by name, the rest routed to the algorithm's settings.

        With `shared=True` (one table for several algorithms) a setting that belongs to
        another registered algorithm is left out rather than refused.
        """
        from evodrum.search.algorithms import algorithm_class, loadable
        common = {f.name for f in fields(cls)} - {"settings"}
        mine = {f.name for f in fields(algorithm_class(options.get("algorithm", "ga")).Settings)}
        settings = dict(settings or {})
        kwargs = {}
        for key, value in options.items():
            if key in common:
                kwargs[key] = value
                continue
            if key in mine:
                settings[key] = value
                continue
            # only now look at the other algorithms (importing some costs a second)
            others = {f.name for a in loadable() for f in fields(a.Settings)} - mine
            if key in others and shared:
                continue
            if key in others:
                raise EvodrumError(f"{key} is not a setting of algorithm "
                                   f"{options.get('algorithm', 'ga')}")
            raise EvodrumError(f"unknown search setting {key!r}; allowed: "
                               f"{', '.join(sorted(setting_defaults()))}")
        return cls(settings=settings, **kwargs)


def setting_defaults() -> dict:
    """Every search setting a user may give (common and every algorithm's) with its
    default, for checking a comparison file's [search] table."""
    from evodrum.search.algorithms import loadable
    defaults = {f.name: f.default for f in fields(SearchConfig) if f.name != "settings"}
    for cls in loadable():
        defaults.update({f.name: f.default for f in fields(cls.Settings)})
    return defaults


def changed_settings(old: dict, new: dict) -> list[str]:
    """Names of the settings that differ between two `to_dict()`s (nested settings too)."""
    flat = lambda d: {**{k: v for k, v in d.items() if k != "settings"}, **d.get("settings", {})}
    a, b = flat(old), flat(new)
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
