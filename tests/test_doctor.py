"""`evodrum doctor` on this machine and with parts hidden, read as a user and as a script."""
from __future__ import annotations

import configparser
import json
import shutil
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import require_real_part

from evodrum.audio.soundfont import find_soundfont
from evodrum.cli import main
from evodrum.doctor import STATUSES

REPO = Path(__file__).resolve().parents[1]
CHECK_KEYS = {"area", "name", "status", "detail", "fix", "required"}


def doctor_json(**env):
    r = CliRunner().invoke(main, ["doctor", "--json"], env=env or None)
    report = json.loads(r.output)  # stdout holds the JSON document and nothing else
    assert set(report) == {"ok", "audio_output", "synth", "sound", "checks"}
    for c in report["checks"]:
        assert set(c) == CHECK_KEYS and c["status"] in STATUSES, c
        assert c["status"] not in ("missing", "broken") or c["fix"] or c["area"] in (
            "audio output", "midi"), c  # those two are advised on once, in "sound"/extras
    return r.exit_code, report, {c["name"]: c for c in report["checks"]}


@pytest.fixture
def no_sounddevice(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails as if not installed


@pytest.fixture
def bare_path(tmp_path, monkeypatch, no_sounddevice):
    """A PATH with no fluidsynth and no audio player, and no sounddevice."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


@pytest.mark.slow      # the real FluidSynth: the full tier (missing parts are tested here)
def test_doctor_on_this_machine_finds_fluidsynth_and_its_soundfont(no_sounddevice):
    require_real_part(shutil.which("fluidsynth") is not None and find_soundfont() is not None,
                      "FluidSynth with a General MIDI soundfont")
    code, report, checks = doctor_json()
    assert code == 0 and report["ok"]
    for name in ("python", "torch", "shipped VAE", "shipped PCA-20", "well-formedness reference",
                 "built-in kit", "fluidsynth", "FluidSynth test render"):
        assert checks[name]["status"] == "ok", checks[name]
    font = find_soundfont().name
    assert checks["FluidSynth test render"]["detail"].startswith(f"FluidSynth ({font})")
    assert report["synth"] == f"FluidSynth ({find_soundfont().name})"
    assert checks[f"soundfont {find_soundfont().name}"]["status"] == "ok"
    assert checks["sounddevice"]["status"] == "missing"
    assert checks["evodrum[test]"]["status"] == "ok"  # the test extra is what runs this test
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    assert {n for n in checks if n.startswith("evodrum[")} == {
        f"evodrum[{extra}]" for extra in cfg["options.extras_require"]}
    assert "CPU" in checks["torch"]["detail"] or "CUDA" in checks["torch"]["detail"]


def test_doctor_says_what_to_install_when_parts_are_missing(bare_path):
    code, report, checks = doctor_json()
    assert code == 0 and report["ok"]  # only optional parts are missing
    assert checks["fluidsynth"]["status"] == "missing"
    assert "apt install fluidsynth" in checks["fluidsynth"]["fix"]
    assert "FluidSynth test render" not in checks and report["synth"] == "built-in kit"
    assert report["audio_output"] is None
    assert all(checks[n]["status"] == "missing" for n in ("sounddevice", "aplay", "paplay"))
    assert "--no-audio" in report["sound"] and "evodrum[audio]" in report["sound"]

    r = CliRunner().invoke(main, ["doctor"])
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert lines[0].split() == ["area", "check", "status", "detail"]
    assert any(line.split()[:3] == ["sound", "fluidsynth", "missing"] for line in lines)
    assert "to fix" in r.output and "apt install fluidsynth" in r.output
    assert "sound: no audio output works here" in r.output and "--no-audio" in r.output


def fake(bin_dir, name, body):
    path = bin_dir / name
    path.write_text(f"#!{sys.executable}\nimport sys\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_doctor_plays_a_test_sound_on_each_output(bare_path):
    fake(bare_path, "aplay", "sys.exit(0)")
    fake(bare_path, "paplay", "print('Connection refused', file=sys.stderr); sys.exit(1)")
    _, report, checks = doctor_json()
    assert checks["aplay"]["status"] == "ok" and "test sound" in checks["aplay"]["detail"]
    assert checks["paplay"]["status"] == "broken"
    assert "Connection refused" in checks["paplay"]["detail"]
    assert report["audio_output"] == "aplay"
    assert report["sound"].startswith("`evodrum play` and `interactive` play loops with "
                                      "built-in kit through aplay")


def test_a_broken_corpus_variable_is_reported(bare_path, tmp_path):
    _, _, checks = doctor_json(EVODRUM_GROOVE=str(tmp_path / "nowhere"))
    assert checks["EVODRUM_GROOVE"]["status"] == "broken"
    assert "info.csv" in checks["EVODRUM_GROOVE"]["detail"]


def test_a_broken_model_fails_doctor_in_plain_words(bare_path, monkeypatch):
    import vae

    def broken(*_):
        raise RuntimeError("model.pt: truncated file")
    monkeypatch.setattr(vae, "load_model", broken)
    code, report, checks = doctor_json()
    assert code == 1 and not report["ok"]
    assert checks["shipped VAE"]["status"] == "broken"
    assert checks["shipped VAE"]["detail"] == "model.pt: truncated file"
    assert "reinstall" in checks["shipped VAE"]["fix"]
    r = CliRunner().invoke(main, ["doctor"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert r.output.rstrip().splitlines()[-1].startswith("error: evodrum itself is not working")
