"""The command line as a person uses it: options that ask for different things are
refused, --json is JSON, Ctrl-C says how to continue, and a closed pipe
(`evodrum ... | head`) ends quietly."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from cli_runner import run
from midi_files import basic_beat, drum_file

from evodrum.cli import main


@pytest.fixture
def beat(tmp_path):
    return drum_file(tmp_path / "beat.mid", basic_beat(4), length_beats=16)


@pytest.mark.parametrize("command, every", [("show", "--all"), ("features", "--all"),
                                            ("encode", "--all")])
def test_window_and_all_together_are_refused(beat, command, every):
    r = run(command, beat, "--window", 1, every)
    assert r.exit_code == 2
    assert r.output.splitlines()[0] == ("error: --window and --all ask for different things: "
                                        "give one of them")


def test_quiet_and_verbose_together_are_refused(beat, tmp_path):
    r = run("vary", beat, "--quiet", "--verbose", "--out", tmp_path / "v")
    assert r.exit_code == 2 and not (tmp_path / "v").exists()
    assert r.output.splitlines()[0] == ("error: --quiet and --verbose ask for different "
                                        "things: give one of them")


def test_steer_list_as_json_is_one_document():
    r = run("steer", "--list", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    names = [d["name"] for d in doc["directions"]]
    assert doc["command"] == "steer" and "hats.density" in names
    assert all("works" in d["measured"] and d["unit"] for d in doc["directions"])
    assert "slope per +1" in r.stderr                       # the table, for the person


@pytest.mark.parametrize("args, words", [
    (["--make-tasks", 2, "--json"], "--make-tasks prints [[tasks]] tables (TOML) and runs "
                                    "nothing, so it takes no --json"),
    (["--make-tasks", 2, "--out", "x"], "runs nothing, so it takes no --out"),
    (["--make-tasks", 2, "cmp.toml", "--no-plots"], "so it takes no CONFIG, --no-plots"),
    (["cmp.toml", "--off-corpus"], "--off-corpus: only for --make-tasks"),
    (["cmp.toml", "--task-seed", 3], "--task-seed: only for --make-tasks"),
    (["cmp.toml", "--report-only", "-j", 2], "--report-only and --workers ask for different "
                                             "things"),
])
def test_compare_refuses_options_its_job_would_ignore(args, words, tmp_path):
    r = run("compare", *args)
    assert r.exit_code == 2 and words in r.output.splitlines()[0], r.output
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("command, args", [
    ("target", ["--features", "density=0.3", "-p", 8, "-g", 5]),
    ("map", ["-p", 8, "-g", 5]),
])
def test_ctrl_c_in_a_search_says_how_to_continue_it(command, args, tmp_path, monkeypatch):
    from evodrum.search import atlas, target

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(target, "run_search", interrupted)
    monkeypatch.setattr(atlas, "make_atlas", interrupted)
    out = tmp_path / "run"
    r = run(command, *args, "--out", out)
    assert r.exit_code == 130
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("interrupted: the ") and last.endswith(
        f"continue it with: evodrum {command} --resume {out}"), r.stderr
    assert (out / "job.json").is_file()                     # what --resume reads
    assert "8 loops x 5 generations in the vae space" in r.output
    if command == "map":                                    # the features in a drummer's words
        assert "mapping loops by whole-kit density and whole-kit syncopation" in r.output


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`evodrum kit | head -0`: the reader is gone before anything is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    try:
        p = subprocess.run([sys.executable, "-m", "evodrum", "kit"], stdout=write_end,
                           stderr=subprocess.PIPE, env=env)
    finally:
        os.close(write_end)
    assert p.returncode == 141 and p.stderr == b"", p.stderr


def test_steer_build_never_writes_through_a_link(tmp_path):
    """MODEL.directions.json as a dangling link: building would create the link's target."""
    model = tmp_path / "model.pt"
    model.write_bytes(b"not read: refused before the model is loaded")
    link = tmp_path / "model.directions.json"
    link.symlink_to(tmp_path / "elsewhere.json")
    r = run("steer", "--build", "--model", model, "--out", tmp_path / "report")
    assert r.exit_code == 1 and r.output.startswith(f"error: {link}: is a symbolic link")
    assert not (tmp_path / "elsewhere.json").exists() and not (tmp_path / "report").exists()


def test_convert_to_an_empty_name_is_a_usage_mistake(beat):
    r = run("convert", beat, "")
    assert r.exit_code == 2
    assert r.output.splitlines()[0] == ("error: invalid value for 'TARGET': is empty; give a "
                                        "folder or file name")


def _commands(group, path=()):
    import click
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def test_every_command_help_teaches_an_example_and_every_option():
    """click docs style: what it does, an example, and a line for every option that takes
    a value (its range and default are added by click)."""
    import click

    from evodrum.cli.options import Number
    missing = []
    for path, command in _commands(main):
        if "Example" not in (command.help or ""):
            missing.append(f"{' '.join(path)}: no example")
        missing += [f"{' '.join(path)} {p.opts[0]}: no help" for p in command.params
                    if isinstance(p, click.Option) and not p.is_flag and not p.help]
        ctx = click.Context(command)
        missing += [f"{' '.join(path)} {p.opts[0]}: no range" for p in command.params
                    if isinstance(p.type, Number) and "range" not in p.get_help_extra(ctx)]
    assert missing == []
    assert "[default: 120.0; 20<=x<=400]" in run("sample", "--help").output   # as click shows


@pytest.mark.parametrize("args, words", [
    (["map", "-p", 100_000_000], "100000000 is not in the range 4<=x<=100000"),
    (["evaluate", "--samples", 1_000_000], "1000000 is not in the range 10<=x<=100000"),
])
def test_sizes_that_would_exhaust_memory_are_refused_before_anything_loads(args, words,
                                                                           tmp_path):
    """map's population is bounded as target's; evaluate decodes its samples at once (a
    million took more memory than the machine had)."""
    r = run(*args, "--out", tmp_path / "m")
    assert r.exit_code == 2 and words in r.output
    assert not (tmp_path / "m").exists()


def test_evaluate_refinement_of_several_models_is_refused(tmp_path):
    """It measured the first and ignored the others without a word (and --samples)."""
    r = run("evaluate", "--refinement", "--model", "a.pt", "--model", "b.pt",
            "--out", tmp_path / "e")
    assert r.exit_code == 2 and r.output.startswith(
        "error: --refinement measures one model: give one --model")
    r = run("evaluate", "--refinement", "--samples", 100, "--out", tmp_path / "e")
    assert r.exit_code == 2 and r.output.startswith(
        "error: --refinement and --samples ask for different things")


def test_ctrl_c_in_many_samples_keeps_the_grid_file_or_leaves_no_folder(tmp_path, monkeypatch):
    from evodrum import midi
    from evodrum.cli import model as model_cli
    written = []

    def interrupted_after_one(path, *a, **k):
        if written:
            raise KeyboardInterrupt
        written.append(path)
        return real_write(path, *a, **k)
    real_write = midi.write_midi
    monkeypatch.setattr(midi, "write_midi", interrupted_after_one)
    out = tmp_path / "s"
    r = run("sample", "-n", 17, "--midi-files", "--out", out)
    assert r.exit_code == 130
    npz = out / "samples.npz"
    assert r.stderr.strip().splitlines()[-1] == (f"interrupted: every loop is in {npz}, and "
                                                 f"the MIDI files written so far are in {out}")
    assert sorted(p.name for p in out.iterdir()) == ["sample_000001.mid", "samples.npz"]

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(model_cli, "feel_performer", lambda *a, **k: interrupted)
    r = run("sample", "-n", 17, "--out", tmp_path / "t")
    assert r.exit_code == 130 and not (tmp_path / "t").exists()


def test_a_midi_port_that_cannot_be_reached_is_one_line(beat):
    """Whatever the machine's MIDI system (none, ALSA, JACK), a port that is not there is
    one error line: the ALSA and JACK libraries' own complaints on fd 2 are hidden (the
    error says it)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    p = subprocess.run([sys.executable, "-m", "evodrum", "play", str(beat), "--midi-port",
                        "no such port here"], capture_output=True, text=True, env=env,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --midi-port"), p.stderr


@pytest.mark.parametrize("args, code, words", [
    (["steer", "--list", "{beat}"], 2, "error: --list steers no loop, so it takes no FILE"),
    (["steer", "--build", "-a", "syncopation=1"], 2,
     "error: --build steers no loop, so it takes no --attribute"),
    (["steer", "--list", "--build"], 2,
     "error: --list and --build ask for different things: give one of them"),
    (["realism", "{beat}", "-n", 5, "--temperature", 0.5], 2,
     "error: -n, --temperature: only for --space (FILES are read as they are)"),
    (["train", "--kind", "pca", "--epochs", 5, "--lr", 0.1, "--out", "{tmp}/p"], 1,
     "error: --kind pca is fitted in one step, not trained, so it takes no --lr, --epochs"),
])
def test_options_a_job_would_silently_ignore_are_refused(args, code, words, beat, tmp_path):
    r = run(*(str(a).format(beat=beat, tmp=tmp_path) for a in args))
    assert r.exit_code == code and r.output.splitlines()[0] == words, r.output
    assert not (tmp_path / "p").exists()


def test_studio_resume_refuses_the_options_that_make_a_session(tmp_path, monkeypatch):
    """As `interactive --resume` does: the session's own space, loops and seed loops are
    kept, so typing others is a mistake to say, not to ignore (before the server starts)."""
    import uvicorn
    monkeypatch.setattr(uvicorn.Server, "run", lambda self: None)   # never serve here
    r = run("interactive", "--no-audio", "--synth", "builtin", "--seed", 3,
            "--out", tmp_path / "s")
    assert r.exit_code == 0, r.output
    r = run("studio", "--no-browser", "--resume", tmp_path / "s", "--space", "pca",
            "--loops", 4)
    assert r.exit_code == 1
    assert r.output.strip() == ("error: --resume continues with the session's own settings: "
                                "drop --loops, --space")


def test_an_output_under_a_link_to_nothing_is_named_as_such(beat, tmp_path):
    """A folder link whose target is gone: 'cannot write (file exists)' named the
    wrong thing; now the link and where it points are said, and nothing is made there."""
    gone = tmp_path / "unplugged-drive"
    link = tmp_path / "drive"
    link.symlink_to(gone)
    r = run("convert", beat, link / "x.npy")
    assert r.exit_code == 1 and r.output.strip() == (
        f"error: {link}: cannot write (it is a link to {gone}, which does not exist)")
    r = run("sample", "-n", 1, "--out", link / "s")
    assert r.exit_code == 1 and r.output.strip() == (
        f"error: {link}: is a link to {gone}, which does not exist; cannot make the folder "
        f"{link / 's'}")
    r = run("sample", "-n", 1, "--out", link)
    assert r.exit_code == 0
    assert f"note: {link} is a symbolic link, so this run writes to {link}-2" in r.stderr
    assert not gone.exists() and (tmp_path / "drive-2" / "samples.npz").is_file()


def test_a_silent_loop_is_not_said_to_match_all_its_hits(tmp_path):
    import numpy as np
    silent = tmp_path / "silent.npy"
    np.save(silent, np.zeros((1, 9, 64), np.float32))
    r = run("encode", silent, "--refine", 0)
    assert r.exit_code == 0
    assert f"{silent} (window 1 of 1): a silent loop (no hits)" in r.stderr
    assert "matches" not in r.stderr


def test_ctrl_c_in_a_corpus_build_says_nothing_was_saved(tmp_path, monkeypatch):
    from evodrum import corpus

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(corpus, "build_corpus", interrupted)
    r = run("data", "build", tmp_path, "--cache-dir", tmp_path / "cache")
    assert r.exit_code == 130
    assert r.stderr.strip().splitlines()[-1] == (
        "interrupted: no corpus was saved (a corpus is saved whole, after its last file); run "
        "the same command again to build it")
