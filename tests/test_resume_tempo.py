"""A resumed `target` run writes its loops at the tempo it started with (the --like
loop's, or --bpm's), not at 120: its job file keeps the tempo, checked on load. A job
from before it was kept still resumes, at 120, and says so."""
from __future__ import annotations

import json
import shutil

import mido
import pytest
from cli_runner import run as run_cli

from evodrum.examples import path as example

FUNK = example("funk")          # a 98 BPM loop
RUN = ["-g", "2", "-p", "8", "--space", "pca"]


def tempo(path) -> int:
    return round(mido.tempo2bpm(next(m.tempo for m in mido.MidiFile(path).merged_track
                                     if m.type == "set_tempo")))


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A --like run that ran to its end, and the folder an interrupted one leaves:
    the job and its checkpoint, no loops yet."""
    done = tmp_path_factory.mktemp("like") / "done"
    result = run_cli("target", "--like", FUNK, *RUN, "--out", done)
    assert result.exit_code == 0, result.output
    assert tempo(done / "best_01.mid") == 98
    stopped = done.parent / "stopped"
    stopped.mkdir()
    for name in ("job.json", "checkpoint.npz"):
        shutil.copy2(done / name, stopped / name)
    return done, stopped


@pytest.fixture
def stopped(finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished[1], out)
    return out


def test_a_resumed_like_run_writes_the_loops_the_whole_run_would_have(finished, stopped):
    r = run_cli("target", "--resume", stopped)
    assert r.exit_code == 0, r.output
    for name in ("best_01.mid", "best_04.mid"):
        assert tempo(stopped / name) == 98
        assert (stopped / name).read_bytes() == (finished[0] / name).read_bytes()
    again = run_cli("target", "--resume", stopped)          # the same take: kept
    assert again.exit_code == 0, again.output
    assert "kept best_01.mid and 3 more" in again.output and "MIDI file" not in again.output
    assert not (stopped / "best_01-2.mid").exists()


def test_bpm_on_a_resume_plays_that_take_and_the_run_keeps_its_own_tempo(stopped):
    r = run_cli("target", "--resume", stopped, "--bpm", 90)
    assert r.exit_code == 0, r.output
    assert tempo(stopped / "best_01.mid") == 90
    assert json.loads((stopped / "job.json").read_text())["bpm"] == pytest.approx(98, abs=0.01)
    summary = json.loads((stopped / "summary.json").read_text())
    assert summary["bpm"] == 90 and summary["job"]["bpm"] == pytest.approx(98, abs=0.01)
    own = run_cli("target", "--resume", stopped)            # its own tempo again: beside
    assert own.exit_code == 0, own.output
    assert tempo(stopped / "best_01.mid") == 90 and tempo(stopped / "best_01-2.mid") == 98


def test_a_job_from_before_tempos_were_kept_resumes_at_120_and_says_so(stopped):
    job = json.loads((stopped / "job.json").read_text())
    del job["bpm"]
    (stopped / "job.json").write_text(json.dumps(job))
    r = run_cli("target", "--resume", stopped)
    assert r.exit_code == 0, r.output
    assert tempo(stopped / "best_01.mid") == 120
    assert json.loads((stopped / "summary.json").read_text())["bpm"] == 120
    assert "note: " in r.output and "written at 120 BPM (give --bpm for another)" in r.output
    quiet = run_cli("target", "--resume", stopped, "--bpm", 98)   # a tempo given: no note
    assert quiet.exit_code == 0, quiet.output
    assert "120 BPM" not in quiet.output and tempo(stopped / "best_01-2.mid") == 98


@pytest.mark.slow      # two map runs: ~10 s of CPU
def test_a_resumed_atlas_keeps_the_tempo_it_was_made_at(tmp_path):
    out = tmp_path / "atlas"
    done = run_cli("map", "--space", "pca", "--cells", 3, "-g", 2, "-p", 8, "--bpm", 90,
                   "--out", out)
    assert done.exit_code == 0, done.output
    elites = sorted((out / "elites").iterdir())
    assert elites and all(tempo(e) == 90 for e in elites)
    again = run_cli("map", "--resume", out)
    assert again.exit_code == 0, again.output
    assert sorted((out / "elites").iterdir()) == elites     # the same takes: none beside
    assert json.loads((out / "summary.json").read_text())["bpm"] == 90
    assert "MIDI file" not in again.output
