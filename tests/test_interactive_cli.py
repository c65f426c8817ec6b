"""`evodrum interactive` end to end: a session driven through stdin, one in a real
process killed mid-session and resumed, and the loops it wrote with --no-audio."""
from __future__ import annotations

import json
import signal
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from processes import default_sigint
from waiting import STUCK, wait_for

from evodrum import midi
from evodrum.audio import render
from evodrum.audio.loudness import normalise
from evodrum.audio.synth import loop_samples
from evodrum.audio.wav import read_wav
from evodrum.cli import main
from evodrum.interactive import store

EVODRUM = [sys.executable, "-c", "from evodrum.cli import main; main()"]
SCRIPT = ["1 7, 3 9", "f 3", "n", "2 8", "4 2", "n", "6 9, s 6", "n", "q"]


def command(folder):
    """A scripted session played straight (--feel 0), so its files hold the loops' grids
    exactly; sessions with the model's feel are tested in test_groove."""
    return [*EVODRUM, "interactive", "--no-audio", "--synth", "builtin", "--seed", "5",
            "--feel", "0", "--out", str(folder)]


def saved(folder) -> dict | None:
    try:
        return json.loads((folder / store.SESSION_FILE).read_text())
    except FileNotFoundError:
        return None


def ratings(d: dict | None) -> dict:
    return {} if d is None else {lp["id"]: lp["rating"] for lp in d["loops"]
                                 if lp["rating"] is not None}


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """The script run in one go (in this process: the real processes are the killed
    and the Ctrl-C sessions'); returns its folder."""
    folder = tmp_path_factory.mktemp("whole")
    done = CliRunner().invoke(main, command(folder)[len(EVODRUM):],
                              input="\n".join(SCRIPT) + "\n")
    assert done.exit_code == 0, done.output
    return folder


@pytest.mark.slow
def test_killed_session_resumes_where_it_stopped_and_ends_the_same(whole, tmp_path):
    folder = tmp_path / "killed"
    with open(tmp_path / "out.txt", "w") as out:
        proc = subprocess.Popen(command(folder), stdin=subprocess.PIPE, stdout=out,
                                stderr=subprocess.STDOUT, text=True)
        try:
            for line in SCRIPT[:4]:
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
            d = wait_for(lambda: len(ratings(saved(folder))) == 3 and saved(folder),
                         "three ratings saved")
        finally:
            proc.kill()  # a crash: no goodbye, no summary
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (folder / "summary.md").exists()
    assert len(d["generations"]) == 2 and d["current"] == 1

    done = subprocess.run([*EVODRUM, "interactive", "--no-audio", "--synth", "builtin",
                           "--resume", str(folder)],
                          input="\n".join(SCRIPT[4:]) + "\n", text=True, capture_output=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "generation 2 of 2" in done.stdout.split("> ")[0]   # back where it stopped
    assert saved(folder) == saved(whole)
    for name in ("summary.json", "summary.md"):
        assert (folder / name).read_text() == (whole / name).read_text()


def test_session_folder_holds_favourites_summary_and_saved_loops(whole):
    d = saved(whole)
    assert [g["bred_from"] for g in d["generations"]] == [None, 0, 1, 2]
    loops = {lp["id"]: lp for lp in d["loops"]}
    assert all(lp["op"] in ("prior", "vary", "blend") for lp in loops.values())
    assert all(loops[p]["born"] < lp["born"] for lp in loops.values() for p in lp["parents"])
    summary = json.loads((whole / "summary.json").read_text())
    assert summary["rated_loops"] == 5 and [f["id"] for f in summary["favourites"]] == [3]
    assert (whole / "favourites" / "loop-003.mid").is_file()
    saved_id = d["generations"][2]["loops"][5]
    assert (whole / "saved" / f"loop-{saved_id:03d}.mid").is_file()


def onset_lag_ms(audio: np.ndarray, steps: np.ndarray, n_steps: int, sr: int) -> float:
    """Where the audio's attacks fall relative to the given steps' start times: the offset
    (within +-30 ms, 1 ms apart) that maximises the mean log level rise from the 5 ms
    before to the 5 ms after it. About 0 when the hits sound when the grid says."""
    n, w = len(audio), int(0.005 * sr)
    starts = steps * n // n_steps

    def rise(offset):
        at = starts + offset
        level = [np.sqrt(np.mean(audio[(at[:, None] + k + np.arange(w)) % n] ** 2, axis=1))
                 for k in (0, -w)]
        return np.mean(np.log((level[0] + 1e-6) / (level[1] + 1e-6)))
    offsets = np.arange(-30, 31) * sr // 1000
    return 1000 * offsets[np.argmax([rise(o) for o in offsets])] / sr


def test_no_audio_writes_the_loops_on_screen_as_midi_and_wav(whole):
    """Each loop of the last generation: MIDI with its exact hits, a WAV one loop long, not
    silent, the built-in kit's render of the loop, with its attacks at the hits' times."""
    session = store.load(whole)
    spec, sr, bpm = session.spec, 44100, session.settings.bpm
    for pos, loop in enumerate(session.shown()):
        np.testing.assert_array_equal(midi.read_loop(whole / "listen" / f"loop{pos + 1}.mid",
                                                     spec), loop.grid)
        audio, rate = read_wav(whole / "listen" / f"loop{pos + 1}.wav")
        assert rate == sr and audio.shape == (loop_samples(spec, bpm, sr),)
        assert np.sqrt(np.mean(audio ** 2)) > 0.01
        heard = normalise(render(loop.grid, spec, bpm, sr), sr)        # auditions: same loudness
        np.testing.assert_allclose(audio, heard, atol=2e-4)  # 16-bit
        hits = np.flatnonzero((loop.grid > 0).any(axis=0))
        assert abs(onset_lag_ms(audio, hits, spec.steps, sr)) <= 5


@pytest.mark.slow      # a real process stopped with Ctrl-C
def test_ctrl_c_keeps_every_rating_and_writes_the_summary(tmp_path):
    folder = tmp_path / "ctrl-c"
    proc = subprocess.Popen(command(folder), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, preexec_fn=default_sigint)
    proc.stdin.write("2 6, f 2\n")
    proc.stdin.flush()
    wait_for(lambda: ratings(saved(folder)) == {2: 6} and saved(folder)["loops"][1]["favourite"],
             "the rating and the favourite saved")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=STUCK)
    assert proc.returncode == 0, out
    assert "interrupted: session saved" in out and "Traceback" not in out
    assert (folder / "favourites" / "loop-002.mid").is_file()
    assert json.loads((folder / "summary.json").read_text())["rated_loops"] == 1


def test_help_teaches_the_keys():
    result = CliRunner().invoke(main, ["interactive", "--help"])
    assert result.exit_code == 0
    for text in ("N R", "rate loop N", "breed the next generation", "--resume", "--adventure",
                 "--seed-loops", "--no-audio", "Examples"):
        assert text in result.output


def test_pca_space_with_an_explicit_model_file(tmp_path):
    from vae.files import DEFAULT_MODEL
    result = CliRunner().invoke(main, [
        "interactive", "--no-audio", "--synth", "builtin", "--space", "pca", "--model",
        str(DEFAULT_MODEL),
        "--seed", "3", "--loops", "4", "--fresh", "0", "--out", str(tmp_path)],
        input="1 9, 2 5\nn\nq\n")
    assert result.exit_code == 0, result.output
    d = saved(tmp_path)
    assert d["settings"]["space"] == "pca" and d["settings"]["model"] == str(DEFAULT_MODEL)
    assert d["fingerprint"].startswith("pca:")
    assert [len(g["loops"]) for g in d["generations"]] == [4, 4]
    assert {p for lp in d["loops"] if lp["born"] == 1 for p in lp["parents"]} <= {1, 2}


@pytest.mark.parametrize("args, problem", [
    (["--resume", "{whole}", "--loops", "4"], "drop --loops"),
    (["--seed-loops", "{bad}"], "bad.mid"),
    (["--fresh", "8"], "fresh loops per generation must be 0 to 7"),
    (["--resume", "{empty}"], "no session file"),
])
def test_bad_options_are_one_line_errors(args, problem, whole, tmp_path):
    (tmp_path / "bad.mid").write_text("not a MIDI file")
    (tmp_path / "empty").mkdir()
    args = [a.format(whole=whole, bad=tmp_path / "bad.mid", empty=tmp_path / "empty")
            for a in args]
    result = CliRunner().invoke(main, ["interactive", "--no-audio", *args,
                                       "--out", str(tmp_path / "run")], input="q\n")
    assert result.exit_code == 1, result.output
    assert problem in result.output and result.output.count("\n") == 1
    assert "Traceback" not in result.output


def test_no_sound_output_is_a_one_line_error_leaving_no_folder(tmp_path, monkeypatch):
    from evodrum.audio import outputs
    monkeypatch.setenv("PATH", str(tmp_path))  # no aplay, paplay, ... here
    monkeypatch.setattr(outputs, "_load_sounddevice", lambda: (None, "disabled for the test"))
    result = CliRunner().invoke(main, ["interactive", "--synth", "builtin",
                                       "--out", str(tmp_path / "run")], input="q\n")
    assert result.exit_code == 1 and "use --no-audio" in result.output
    assert not (tmp_path / "run").exists()


def test_a_new_session_goes_beside_a_folder_holding_one(whole):
    before = (whole / store.SESSION_FILE).read_bytes()
    result = CliRunner().invoke(main, ["interactive", "--no-audio", "--synth", "builtin",
                                       "--out", str(whole)], input="1 9\nq\n")
    assert result.exit_code == 0, result.output
    assert f"{whole} holds an earlier run, so this run writes to {whole}-2" in result.stderr
    assert "--resume" in result.stderr
    assert (whole / store.SESSION_FILE).read_bytes() == before
    assert (whole.parent / f"{whole.name}-2" / store.SESSION_FILE).is_file()


def test_a_session_folder_in_use_is_refused(whole):
    from evodrum.runs import folder_lock
    with folder_lock(whole):
        result = CliRunner().invoke(main, ["interactive", "--no-audio", "--synth", "builtin",
                                           "--resume", str(whole)], input="q\n")
    assert result.exit_code == 1 and "in use by another evodrum run" in result.output
