"""`compare --workers 1` runs in evodrum's own process (no worker to start): the same
records as a pool, and Ctrl-C keeps every finished run for the next invocation."""
from __future__ import annotations

import json

from click.testing import CliRunner

from evodrum.cli import main
from evodrum.compare import runner

CONFIG = ('name = "here"\nbudget = 16\npopulation = 4\nseeds = 2\nspaces = ["grid"]\n'
          'algorithms = ["ga", "random"]\n[[tasks]]\nname = "t"\ngoals = { density = 0.4 }\n')
REPRODUCED = ("error", "wellformed", "curve", "best_grid", "evaluations")


def compare(config, out, workers):
    return CliRunner().invoke(main, ["compare", str(config), "--out", str(out),
                                     "--workers", str(workers), "--no-plots"])


def records(folder):
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.glob("runs/t/*.json"))}


def test_ctrl_c_keeps_finished_runs_and_the_rerun_reproduces_an_uninterrupted_one(
        tmp_path, monkeypatch):
    config = tmp_path / "here.toml"
    config.write_text(CONFIG)
    whole = compare(config, tmp_path / "whole", 1)
    assert whole.exit_code == 0, whole.output
    assert "4 runs to do in this process" in whole.output
    assert "ran 4 runs in" in whole.output and whole.output.count("in this process") == 2
    assert json.loads((tmp_path / "whole" / "comparison.json").read_text()
                      )["invocations"][0]["backend"] == "this process"

    real, started = runner.run_one, []

    def interrupted_at_the_third(config, key):
        started.append(key)
        if len(started) == 3:
            raise KeyboardInterrupt
        return real(config, key)

    monkeypatch.setattr(runner, "run_one", interrupted_at_the_third)
    cut = compare(config, tmp_path / "cut", 1)
    assert cut.exit_code == 130 and "Traceback" not in cut.output
    assert len(records(tmp_path / "cut")) == 2
    monkeypatch.setattr(runner, "run_one", real)
    rest = compare(config, tmp_path / "cut", 1)
    assert rest.exit_code == 0 and "2 runs already finished, skipped" in rest.output
    again, first = records(tmp_path / "cut"), records(tmp_path / "whole")
    assert again.keys() == first.keys() and len(first) == 4
    for name, record in first.items():
        assert {f: again[name][f] for f in REPRODUCED} == {f: record[f] for f in REPRODUCED}


def test_more_workers_than_runs_left_says_where_they_run(tmp_path):
    """One run left with --workers 2 runs in this process, and says so from the start."""
    config = tmp_path / "here.toml"
    config.write_text(CONFIG.replace("seeds = 2", "seeds = 1").replace('"ga", "random"', '"ga"'))
    r = compare(config, tmp_path / "one", 2)
    assert r.exit_code == 0, r.output
    assert "1 run to do in this process" in r.output and "on local worker" not in r.output
