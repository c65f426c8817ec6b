"""Writes that must not destroy: device nodes, pipes, links and folders as outputs, full
and read-only disks, and run folders shared by two runs or holding another run."""
from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys

import numpy as np
import pytest
from cli_runner import run as run_cli
from waiting import STUCK, read_line, wait_for

from evodrum import atomic
from evodrum.errors import EvodrumError
from evodrum.runs import LOCK_FILE, claim_run_dir, folder_lock


def one_error_line(result, *words):
    assert result.exit_code != 0
    lines = [line for line in result.output.strip().splitlines()
             if not line.startswith("note: ")]   # what the command decided, said before
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_device_nodes_are_written_through_never_replaced():
    before = os.stat("/dev/null")
    atomic.write_bytes("/dev/null", b"RIFF" * 100)
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
def test_a_full_device_is_one_line_and_stays_a_device():
    with pytest.raises(atomic.CannotWrite, match="/dev/full: cannot write .no space left"):
        atomic.write_bytes("/dev/full", b"x" * 100_000)
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_render_to_dev_null_leaves_the_device_node(tmp_path):
    loop = tmp_path / "loop.npy"
    np.save(loop, np.zeros((1, 9, 64), np.float32))
    run_cli("render", loop, "-o", "/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_pipe_with_a_reader_is_written_through(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)

    def written() -> bool:
        try:
            atomic.write_text(fifo, "through the pipe")
            return True
        except atomic.CannotWrite as e:    # `cat` has not opened it yet: try again
            if "no program is reading" not in str(e):
                raise
            return False
    try:
        wait_for(written, "cat to read the pipe")
        assert reader.communicate(timeout=STUCK)[0] == b"through the pipe"
    finally:
        reader.kill()
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_pipe_nobody_reads_is_refused_not_a_hang(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(EvodrumError, match="named pipe that no program is reading"):
        atomic.write_text(fifo, "x")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_symlink_is_followed_and_stays_a_link(tmp_path):
    (tmp_path / "real.txt").write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to("real.txt")
    atomic.write_text(link, "new")
    assert link.is_symlink() and (tmp_path / "real.txt").read_text() == "new"


def test_a_link_loop_and_a_folder_are_refused(tmp_path):
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(EvodrumError, match="loop of symbolic links"):
        atomic.write_text(tmp_path / "a", "x")
    (tmp_path / "d").mkdir()
    with pytest.raises(EvodrumError, match="it is a folder"):
        atomic.write_text(tmp_path / "d", "x")


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("precious")
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk gone")
    assert path.read_text() == "precious" and os.listdir(tmp_path) == ["results.json"]


def test_cannot_write_is_an_oserror_with_its_errno(tmp_path):
    err = atomic.CannotWrite(tmp_path / "x", "no space left on device", 28)
    assert isinstance(err, OSError) and isinstance(err, EvodrumError) and err.errno == 28
    assert str(err) == f"{tmp_path / 'x'}: cannot write (no space left on device)"


# --- run folders ---------------------------------------------------------------------

def test_a_second_claim_on_a_locked_folder_is_refused(tmp_path):
    with claim_run_dir("target", tmp_path / "run"):
        with pytest.raises(EvodrumError, match=f"in use by another evodrum run .pid {os.getpid()}"):
            with claim_run_dir("target", tmp_path / "run", resume=True):
                pass
    with claim_run_dir("target", tmp_path / "run", resume=True) as folder:   # released
        assert (folder / LOCK_FILE).exists()


def test_the_lock_holds_across_processes(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    code = ("import sys, time; from evodrum.runs import folder_lock\n"
            "with folder_lock(sys.argv[1]):\n    print('locked', flush=True); sys.stdin.read()\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE,
                              stdin=subprocess.PIPE)     # holds the lock until it is killed
    try:
        assert read_line(holder.stdout, "the other process to take the lock") == b"locked\n"
        with pytest.raises(EvodrumError, match=f"pid {holder.pid}"):
            with folder_lock(folder):
                pass
    finally:
        holder.kill()
        holder.wait()
    with folder_lock(folder):     # a killed holder's lock is gone with it
        pass


def test_a_new_run_goes_beside_a_folder_holding_files_unless_it_continues_it(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("a user's file")
    with claim_run_dir("target", out) as folder:
        assert folder == tmp_path / "mine-2"
    with claim_run_dir("target", out, resume=True) as folder:
        assert folder == out
    with claim_run_dir("compare", out, own_files=("notes.txt",)) as folder:
        assert folder == out
    assert (out / "notes.txt").read_text() == "a user's file"


def test_target_refuses_an_out_folder_in_use(tmp_path):
    out = tmp_path / "run"
    args = ["target", "-f", "density=0.4", "-g", "2", "-p", "8", "--space", "pca", "--out", out]
    with claim_run_dir("target", out):
        one_error_line(run_cli(*args), str(out), "in use by another evodrum run")
    assert run_cli(*args).exit_code == 0
    again = run_cli(*args)
    assert again.exit_code == 0 and f"writes to {out}-2" in again.stderr
    assert (tmp_path / "run-2" / "summary.json").is_file() and (out / "summary.json").is_file()


@pytest.mark.corpus
def test_train_never_writes_into_an_out_folder_holding_a_run(tmp_path, groove_corpus):
    out = tmp_path / "run"
    out.mkdir()
    (out / "model.pt").write_bytes(b"someone's model")
    r = run_cli("train", "--kind", "pca", "--out", out, "--corpus", groove_corpus.path)
    assert r.exit_code == 0, r.output
    assert (out / "model.pt").read_bytes() == b"someone's model"
    assert (tmp_path / "run-2").is_dir()


def test_compare_goes_beside_a_folder_of_another_kind_and_refuses_one_in_use(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('name = "c"\nbudget = 8\npopulation = 4\nseeds = 1\nspaces = ["grid"]\n'
                      'algorithms = ["ga"]\n[[tasks]]\nname = "t"\ngoals = { density = 0.4 }\n')
    other = tmp_path / "target-run"
    other.mkdir()
    (other / "summary.json").write_text("{}")
    r = run_cli("compare", config, "--out", other, "--workers", 1, "--no-plots")
    assert r.exit_code == 0 and (tmp_path / "target-run-2" / "comparison.json").is_file()
    assert (other / "summary.json").read_text() == "{}"
    out = tmp_path / "c"
    with claim_run_dir("compare", out):
        one_error_line(run_cli("compare", config, "--out", out, "--workers", 1, "--no-plots"),
                       "in use by another evodrum run")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_a_read_only_runs_root_is_one_line(tmp_path, monkeypatch):
    root = tmp_path / "ro"
    root.mkdir()
    root.chmod(0o555)
    monkeypatch.setenv("EVODRUM_RUNS", str(root))
    one_error_line(run_cli("target", "-f", "density=0.4", "-g", "1", "-p", "4", "--space", "pca"),
                   str(root), "cannot")


def test_a_runs_root_that_cannot_be_a_folder_is_one_line(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("EVODRUM_RUNS", str(blocker / "runs"))
    one_error_line(run_cli("target", "-f", "density=0.4", "-g", "1", "-p", "4", "--space", "pca"),
                   str(blocker / "runs"), "cannot create the folder")


def _disk_full_at(monkeypatch, name: str) -> None:
    """Writing a file called `name` fails as a full disk does (ENOSPC when it is flushed).
    (A link to /dev/full would stand in, but a run folder holding links is refused.)"""
    flush = atomic._fsync

    def full(path):
        if os.path.basename(path).startswith(f".{name}."):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        flush(path)
    monkeypatch.setattr(atomic, "_fsync", full)


def test_a_full_disk_during_target_and_compare_is_one_line(tmp_path, monkeypatch):
    out = tmp_path / "run"
    args = ["target", "-f", "density=0.4", "-g", "2", "-p", "8", "--space", "grid"]
    assert run_cli(*args, "--out", out).exit_code == 0
    (out / "logbook.csv").unlink()
    _disk_full_at(monkeypatch, "logbook.csv")
    result = run_cli("target", "--resume", out)
    assert result.exit_code == 1 and "Traceback" not in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"error: {out / 'logbook.csv'}: cannot write (no space left"), last
    assert not (out / "logbook.csv").exists() and not list(out.glob(".logbook.csv.*"))

    config = tmp_path / "c.toml"
    config.write_text('name = "c"\nbudget = 8\npopulation = 4\nseeds = 1\nspaces = ["grid"]\n'
                      'algorithms = ["ga"]\n[[tasks]]\nname = "t"\ngoals = { density = 0.4 }\n')
    folder = tmp_path / "c"
    _disk_full_at(monkeypatch, "comparison.toml")
    result = run_cli("compare", config, "--out", folder, "--workers", 1, "--no-plots")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1].startswith(f"error: {folder / 'comparison.toml'}")


def test_a_run_folder_holding_a_link_to_a_device_is_refused(tmp_path):
    """What a link to /dev/full in a copied run folder now gets: refused, the device kept."""
    out = tmp_path / "run"
    assert run_cli("target", "-f", "density=0.4", "-g", "2", "-p", "8", "--space", "grid",
                   "--out", out).exit_code == 0
    (out / "logbook.csv").unlink()
    (out / "logbook.csv").symlink_to("/dev/null")
    one_error_line(run_cli("target", "--resume", out), "logbook.csv: is a symbolic link")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
