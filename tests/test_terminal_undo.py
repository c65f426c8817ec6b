"""`u` in `evodrum interactive`: the last rating, favourite, breeding, adventure or tempo
taken back, as the studio's Ctrl+Z does, with the session file saved as undone."""
from __future__ import annotations

import json

from click.testing import CliRunner

from evodrum.cli import main
from evodrum.interactive import store


def session(tmp_path, lines: list[str], name: str = "s", *extra):
    folder = tmp_path / name
    result = CliRunner().invoke(main, ["interactive", "--no-audio", "--synth", "builtin",
                                       "--seed", "4", "--loops", "4", "--feel", "0",
                                       "--out", str(folder), *extra],
                                input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    return folder, result.output, json.loads((folder / store.SESSION_FILE).read_text())


def ratings(d: dict) -> dict[int, int]:
    return {lp["id"]: lp["rating"] for lp in d["loops"] if lp["rating"] is not None}


def genotypes(d: dict, generation: int) -> list[list[float]]:
    loops = {lp["id"]: lp for lp in d["loops"]}
    return [loops[i]["genotype"] for i in d["generations"][generation]["loops"]]


def test_undo_takes_back_breeding_then_ratings_one_at_a_time(tmp_path):
    folder, out, d = session(tmp_path, ["1 7, 3 9", "n", "u", "q"])
    assert "undone: breeding generation 2" in out
    assert len(d["generations"]) == 1 and d["current"] == 0
    assert ratings(d) == {d["generations"][0]["loops"][0]: 7, d["generations"][0]["loops"][2]: 9}
    assert len(d["loops"]) == 4                      # the bred loops are gone from the file
    _, out, d = session(tmp_path, ["1 7, 3 9", "u", "u", "u", "q"], "t")
    assert "undone: rating of loop 3" in out and "undone: rating of loop 1" in out
    assert "nothing to undo" in out and ratings(d) == {}


def test_breeding_again_after_undo_breeds_what_the_first_breeding_did(tmp_path):
    """The random generator's state comes back too: undo, breed gives the same loops."""
    _, _, once = session(tmp_path, ["2 8, 4 6", "n", "q"], "once")
    _, out, again = session(tmp_path, ["2 8, 4 6", "n", "u", "n", "q"], "again")
    assert "undone: breeding generation 2" in out
    assert len(again["generations"]) == 2
    assert genotypes(again, 1) == genotypes(once, 1)


def test_undo_restores_favourites_tempo_and_adventure(tmp_path):
    _, out, d = session(tmp_path, ["f 2", "t 96", "a 0.8", "u", "u", "q"])
    assert "undone: adventure change (back to 0.3)" in out and "undone: tempo change (back to 120 BPM)" in out
    assert d["settings"]["bpm"] == 120 and d["settings"]["adventure"] == 0.3
    assert [lp["favourite"] for lp in d["loops"]].count(True) == 1
    _, _, d = session(tmp_path, ["f 2", "u", "q"], "fav")
    assert not any(lp["favourite"] for lp in d["loops"])


def test_undo_is_saved_and_a_resumed_session_goes_on_from_it(tmp_path):
    folder, _, d = session(tmp_path, ["1 9", "n", "u", "q"])
    assert len(d["generations"]) == 1
    resumed = CliRunner().invoke(main, ["interactive", "--no-audio", "--synth", "builtin",
                                        "--resume", str(folder)], input="u\n2 5\nq\n")
    assert resumed.exit_code == 0, resumed.output
    assert "nothing to undo" in resumed.output          # a new sitting starts a new history
    d = json.loads((folder / store.SESSION_FILE).read_text())
    first = d["generations"][0]["loops"]
    assert ratings(d) == {first[0]: 9, first[1]: 5}


def test_help_and_the_key_line_list_undo(tmp_path):
    _, out, _ = session(tmp_path, ["?", "q"])
    assert "u undo" in out and "undo the last rating, favourite, breeding" in out
    result = CliRunner().invoke(main, ["interactive", "--help"])
    assert "undo the last rating" in result.output


def test_a_failed_command_leaves_nothing_to_undo(tmp_path):
    _, out, d = session(tmp_path, ["9 5", "u", "q"])
    assert "there is no loop 9" in out and "nothing to undo" in out and ratings(d) == {}
