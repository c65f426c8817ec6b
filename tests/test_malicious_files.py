"""Security audit: every path that loads a file a user may be handed (grid files, PCA
models, well-formedness references, judges, corpus caches, sessions, comparison runs,
comparison files, target jobs, training checkpoints) is given a file carrying a pickle
payload that would create a marker file. Each is refused in one line; the marker never
appears. A static check keeps every np.load / torch.load call pickle-free."""
from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_runner import run as run_cli

from evodrum.errors import EvodrumError

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("evodrum", "vae", "fitness")


def refused(result, marker, *words):
    assert result.exit_code != 0 and "Traceback" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.lower().startswith("error:")]
    assert len(errors) == 1, result.output
    assert all(w in errors[0] for w in words), errors[0]
    assert not marker.exists(), "the payload ran"


def object_npz(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)   # object arrays are pickled inside the archive
    return path


def test_grid_files_holding_pickles(tmp_path, malicious):
    marker, payload = malicious
    npy = tmp_path / "evil.npy"
    np.save(npy, np.array([payload], dtype=object), allow_pickle=True)
    refused(run_cli("show", npy), marker, str(npy))
    npz = object_npz(tmp_path / "evil.npz", grids=np.array([payload], dtype=object))
    refused(run_cli("show", npz), marker, str(npz))
    refused(run_cli("convert", npz, tmp_path / "out.mid"), marker, str(npz))
    assert not (tmp_path / "out.mid").exists()


def test_a_pca_model_holding_a_pickle(tmp_path, malicious):
    marker, payload = malicious
    path = object_npz(tmp_path / "pca.npz", card=np.array([payload], dtype=object))
    refused(run_cli("sample", "--model", path, "--out", tmp_path / "s"), marker, str(path))


def test_well_formedness_references_and_judges_holding_pickles(tmp_path, malicious):
    from fitness import WellFormedness
    from fitness.judges import Judge
    marker, payload = malicious
    path = object_npz(tmp_path / "wellformed.npz", meta=np.array([payload], dtype=object))
    with pytest.raises(EvodrumError):
        WellFormedness.load(path)
    with pytest.raises(EvodrumError):
        Judge.load(path)
    assert not marker.exists()


def test_a_corpus_cache_holding_a_pickle(tmp_path, malicious):
    from evodrum import corpus as C
    marker, payload = malicious
    folder = tmp_path / "cache" / "corpora" / "evil"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps(
        {"settings": {"spec": {"bars": 4, "beats_per_bar": 4, "steps_per_beat": 4}},
         "files": [], "windows": 1, "source": "x"}))
    object_npz(folder / "grids.npz", velocities=np.array([payload], dtype=object),
               split=np.array(["train"]), **{f"label_{k}": np.array([""]) for k in C.LABELS})
    with pytest.raises(EvodrumError, match="corpus cache is damaged"):
        C.load_corpus("evil", tmp_path / "cache")
    refused(run_cli("data", "info", "evil", "--cache-dir", tmp_path / "cache"), marker, "damaged")


def test_a_session_file_holding_a_pickle(tmp_path, malicious):
    from evodrum.interactive import store
    marker, payload = malicious
    folder = tmp_path / "session"
    folder.mkdir()
    (folder / "session.json").write_bytes(pickle.dumps(payload))
    with pytest.raises(EvodrumError, match="session"):
        store.load(folder)
    assert not marker.exists()


def test_comparison_files_and_run_results_holding_pickles(tmp_path, malicious):
    marker, payload = malicious
    toml = tmp_path / "evil.toml"
    toml.write_bytes(pickle.dumps(payload))
    refused(run_cli("compare", toml, "--out", tmp_path / "c"), marker, "not valid TOML")
    config = tmp_path / "c.toml"
    config.write_text('name = "c"\nspaces = ["grid"]\nalgorithms = ["ga"]\nbudget = 8\n'
                      'population = 4\nseeds = 1\n[[tasks]]\nname = "t"\n'
                      'goals = { density = 0.4 }\n')
    out = tmp_path / "c"
    assert run_cli("compare", config, "--out", out, "--workers", 1, "--no-plots").exit_code == 0
    run_file = next((out / "runs").rglob("*.json"))
    run_file.write_bytes(pickle.dumps(payload))
    refused(run_cli("compare", config, "--out", out, "--report-only", "--no-plots"), marker,
            str(run_file))


def test_a_target_job_holding_a_pickle(tmp_path, malicious):
    marker, payload = malicious
    out = tmp_path / "run"
    assert run_cli("target", "-f", "density=0.4", "-g", "2", "-p", "8", "--space", "grid",
                   "--out", out).exit_code == 0
    (out / "job.json").write_bytes(pickle.dumps(payload))
    refused(run_cli("target", "--resume", out), marker, str(out))


def test_a_training_checkpoint_holding_a_pickle(tmp_path, malicious):
    marker, payload = malicious
    out = tmp_path / "train"
    out.mkdir()
    torch.save({"format": "x", "card": payload}, out / "checkpoint.pt")
    refused(run_cli("train", "--out", out, "--resume"), marker, "checkpoint.pt")


def _calls(pattern: str):
    """(file, line, text) of every source line calling `pattern`, calls split over lines
    joined up to their closing parenthesis."""
    found = []
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            text = path.read_text()
            for m in re.finditer(pattern, text):
                depth, end = 0, m.end()
                for end in range(m.end() - 1, len(text)):
                    depth += {"(": 1, ")": -1}.get(text[end], 0)
                    if depth == 0:
                        break
                found.append((path.relative_to(REPO), text.count("\n", 0, m.start()) + 1,
                              text[m.start():end + 1]))
    return found


def test_no_loader_can_unpickle():
    """Every numpy and torch load refuses pickles; nothing calls pickle, yaml or marshal."""
    # every array is read by evodrum/npyfile.py (numpy's format.read_array) or np.load
    np_loads = _calls(r"\bnp\.load\(") + _calls(r"\bformat\.read_array\(")
    assert np_loads, "the audit found no array loads: its pattern is broken"
    for path, line, call in np_loads:
        assert "allow_pickle=False" in call, f"{path}:{line}: {call}"
    for path, line, call in _calls(r"\btorch\.load\("):
        assert "weights_only=True" in call, f"{path}:{line}: {call}"
    for pattern in (r"\bpickle\.loads?\(", r"\bUnpickler\(", r"\bmarshal\.loads?\(",
                    r"\byaml\.(unsafe_)?load\(", r"\bjoblib\.load\(", r"\bdill\.", r"(?<![.\w])eval\("):
        assert not _calls(pattern), _calls(pattern)
