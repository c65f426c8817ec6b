"""The README's benchmark table is written by `python -m benchmarks.table` from what the
benchmarks print: its markers are there, every row names a benchmark, and rows of
benchmarks not rerun are kept as they were."""
from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def table_module():
    spec = importlib.util.spec_from_file_location("benchmark_table",
                                                  REPO / "benchmarks" / "table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_holds_the_generated_table_and_each_row_names_a_benchmark():
    table = table_module()
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert text.count(table.BEGIN) == 1 and text.count(table.END) == 1
    section = text.split(table.BEGIN, 1)[1].split(table.END, 1)[0]
    assert set(table.rows_of(section)) <= set(table.BENCHMARKS)


def test_rows_survive_a_rewrite_and_printed_pipes_stay_in_their_cell():
    table = table_module()
    rows = {"audio": [f"| `python -m benchmarks.audio` | {table.cell('a  |  b')} |"],
            "studio": ["| `python -m benchmarks.studio` | start 0.7 s CPU |"]}
    written = table.table(rows, {"audio": "2026-12-06, 2 cores, load 1.0, 3 s CPU"})
    assert table.rows_of(written) == rows
    assert "a \\| b" in written and "Ran on `audio` 2026-12-06" in written


def test_the_playability_table_keeps_a_pipe_in_a_rule_inside_its_cell(monkeypatch):
    """"q(z|x)" in a rule's name must not split the row into one column too many."""
    import types
    monkeypatch.syspath_prepend(str(REPO))     # benchmarks run from the checkout
    from benchmarks.playability import _table
    figures = {"snare_over_24": 0.3, "hat_ride_snare_4": 0.1, "backbeat_3_of_4": 0.4}
    rows = [{"rule": "aggregate posterior (q(z|x))", "validation_f1": None, "precision": 0.5,
             "recall": 0.3, "density": 0.6, "coverage": 0.4, "test_f1": None, "cells_moved": 5.2, **figures}]
    model = types.SimpleNamespace(name="m", card={"training": {"config": {"beta": 0.5}}})
    lines = _table(rows, figures, model, "1 s CPU").splitlines()
    header, row = lines[2], next(line for line in lines if "q(z" in line)
    assert row.replace("\\|", "").count("|") == header.count("|") == 12
