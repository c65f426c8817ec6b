"""Shared fixtures: the real Groove MIDI corpus, found through EVODRUM_GROOVE.

`.ci/run` points EVODRUM_GROOVE at ../shared/data/groove; a developer checkout
beside shared/ finds it there too. Without it, tests that need it are skipped
with a note on where to get it.

Two tiers: every test that needs the corpus (through the `groove_path` fixture,
directly or via another fixture) is marked `corpus` at collection, so
`pytest -m "not corpus"` is the fast tier (synthetic MIDI and grids only) and
plain `pytest` runs both. Tests marked `slow` (a whole comparison run, a Dask
cluster, processes killed and resumed) join the full tier the same way, as do
tests reading a module's comparison run (the `tiny` and `small` fixtures) and
tests in a real browser (the `browser` fixture).
"""
from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GROOVE_HINT = ("Groove MIDI Dataset not found: download groove-v1.0.0-midionly.zip from "
               "https://magenta.tensorflow.org/datasets/groove, unzip it and set "
               "EVODRUM_GROOVE=/path/to/groove")


def groove_dir() -> Path | None:
    """The groove corpus folder (with info.csv), or None when it is not on this machine."""
    candidates = [os.environ.get("EVODRUM_GROOVE"), REPO.parent / "shared" / "data" / "groove"]
    for c in candidates:
        if c and (Path(c) / "info.csv").is_file():
            return Path(c)
    return None


def require_real_part(available: bool, what: str) -> None:
    """Skip a test whose real part (FluidSynth, Chromium, ...) is missing, but fail under CI.

    `.ci/run` installs every real part, so there a missing one is a broken set-up,
    not a reason to skip.
    """
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing, and CI installs it: the set-up is broken")
    pytest.skip(f"{what} is not installed on this machine")


@pytest.fixture
def own_network():
    """The test runs in a network of its own (see tests/network.py): Ableton Link peers
    it starts meet each other only, never another test suite's running at once.

    Outside CI, where the namespace cannot be made (no root), the test runs on the
    machine's network with a warning: it passes unless another suite joins it."""
    from network import own_network as private
    with contextlib.ExitStack() as island:
        try:
            island.enter_context(private())
        except PermissionError as e:
            if os.environ.get("CI"):
                pytest.fail(f"cannot make a private network ({e}); CI runs as root: "
                            "the set-up is broken")
            warnings.warn(f"Link test on the machine's network: {e}")
        yield


#: Fixtures that make a test full tier: a whole comparison run once per module (`tiny`,
#: `small`), a real Chromium (`browser`: a few seconds of CPU a test; the studio's
#: API is tested in the fast tier without one), and real-time peers: a JACK server
#: (`jack`) and Link peers in a network of their own (`own_network`). The MIDI port
#: player's timing and the clock follower's arithmetic stay in the fast tier (on a
#: recording port, a fake clock); the real exchange with those peers is full tier only.
SLOW_FIXTURES = {"groove_path", "tiny", "small", "browser", "jack", "own_network"}


def pytest_collection_modifyitems(config, items):
    """Mark every test that reaches the Groove corpus or is slow, so the fast tier can
    leave it out."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or \
                item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.corpus)


@pytest.fixture(scope="session")
def groove_path() -> Path:
    path = groove_dir()
    if path is None:
        pytest.skip(GROOVE_HINT)
    return path


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One corpus cache for the whole test session, so the corpus is built once."""
    return tmp_path_factory.mktemp("evodrum-cache")


@pytest.fixture(scope="session", autouse=True)
def isolated_dirs(cache_dir, tmp_path_factory):
    """Tests never touch the user's corpus cache or ./runs: both point into tmp."""
    old = {k: os.environ.get(k) for k in ("EVODRUM_CACHE", "EVODRUM_RUNS")}
    os.environ["EVODRUM_CACHE"] = str(cache_dir)
    os.environ["EVODRUM_RUNS"] = str(tmp_path_factory.mktemp("runs"))
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def groove_corpus(groove_path, cache_dir):
    """The real groove corpus at the default resolution, built once per session."""
    from evodrum.corpus import build_corpus
    return build_corpus(groove_path, cache_dir=cache_dir, workers=2, progress=False)


@pytest.fixture
def heldout_loop_file(tmp_path, groove_corpus):
    """A real held-out loop (test window 101) written as a MIDI file a user would bring."""
    from evodrum import midi
    path = tmp_path / "mine.mid"
    midi.write_midi(path, groove_corpus.split_grids("test")[100], groove_corpus.spec, 100)
    return path


class _CodeOnLoad:
    """Unpickling this runs code: it creates the marker file (the proof a loader ran it)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def malicious(tmp_path):
    """(marker path, object whose unpickling would create the marker) for load-path audits."""
    marker = tmp_path / "code-ran"
    return marker, _CodeOnLoad(marker)
