"""What a finished session leaves: the favourites as MIDI files and a summary of
the session (generations, ratings, each favourite's family tree) as JSON and markdown."""
from __future__ import annotations

from pathlib import Path

from evodrum import atomic, statefile
from evodrum.errors import EvodrumError
from evodrum.interactive.session import OPERATORS, Loop, Session
from evodrum.midi import write_midi
from evodrum.notes import note
from vae.decoder import file_digest

FAVOURITES_DIR = "favourites"


def rated(session: Session) -> int:
    """How many loops the user rated (a kept loop counts once)."""
    return sum(lp.rating is not None for lp in session.loops.values())


def ratings_heard(session: Session, index: int) -> dict[int, int | None]:
    """The ratings generation `index` had when the user last bred from it (what the
    breeding used); for a generation never bred from, its ratings now."""
    bred = [g.bred_on for g in session.generations if g.bred_from == index and g.bred_on]
    return bred[-1] if bred else {i: session.loops[i].rating
                                  for i in session.generation(index).loop_ids}


def generation_rows(session: Session) -> list[dict]:
    """Per generation: where it came from, its loops and how they were rated. The mean
    covers the loops new in that generation: a kept loop's rating was given earlier."""
    rows = []
    for gen in session.generations:
        loops = session.shown(gen.index)
        heard = ratings_heard(session, gen.index)
        new = [heard.get(lp.id) for lp in loops if lp.born == gen.index]
        ratings = [r for r in new if r is not None]
        rows.append({
            "generation": gen.index + 1,
            "bred_from": None if gen.bred_from is None else gen.bred_from + 1,
            "adventure": gen.adventure,
            "rated": len(ratings),
            "mean_rating": round(sum(ratings) / len(ratings), 2) if ratings else None,
            "loops": [{"position": pos + 1, "id": lp.id, "op": lp.op, "parents": list(lp.parents),
                       "kept": lp.born != gen.index, "rating": heard.get(lp.id),
                       "favourite": lp.favourite} for pos, lp in enumerate(loops)],
        })
    return rows


def family_tree(session: Session, loop: Loop) -> list[str]:
    """A loop and its ancestors, one per line, indented by generation of descent."""
    lines, seen = [], set()

    def visit(lp: Loop, depth: int) -> None:
        rating = "unrated" if lp.rating is None else f"rated {lp.rating}"
        about = lp.source if lp.op == "seed" else OPERATORS[lp.op]
        again = lp.id in seen
        lines.append(f"{'  ' * depth}- #{lp.id}: {about}, generation {lp.born + 1}, {rating}"
                     + (" (see above)" if again else ""))
        seen.add(lp.id)
        if not again:
            for parent in lp.parents:
                visit(session.loops[parent], depth + 1)

    visit(loop, 0)
    return lines


def markdown(session: Session, rows: list[dict], favourites: list[tuple[Loop, Path]]) -> str:
    s = session.settings
    out = ["# evodrum interactive session", "",
           (f"{len(session.generations)} generations, {len(session.loops)} loops, "
           f"{rated(session)} rated, {len(favourites)} favourite{'s' * (len(favourites) != 1)}. "
           f"Space {s.space}, model {s.model or 'shipped'}, {s.loops} loops per generation, "
           f"{s.fresh} fresh, adventure {s.adventure:g}, blend {s.blend:g}, "
           f"favourites kept: {'yes' if s.keep_favourites else 'no'}, seed {s.seed}, "
           f"{s.bpm:g} BPM."), "",
           "## Generations", "",
           "Ratings are as they were when you bred from the generation; the mean covers the",
           "loops new in it (kept loops, marked k, were rated where they first appeared).", "",
           "| generation | bred from | rated | mean rating | loops (id: rating, * favourite) |",
           "|---|---|---|---|---|"]
    for r in rows:
        loops = " ".join(f"#{x['id']}:{'-' if x['rating'] is None else x['rating']}"
                         f"{'*' if x['favourite'] else ''}{'k' if x['kept'] else ''}"
                         for x in r["loops"])
        mean = "-" if r["mean_rating"] is None else f"{r['mean_rating']:.2f}"
        out.append(f"| {r['generation']} | {r['bred_from'] or '-'} | {r['rated']} | {mean} "
                   f"| {loops} |")
    out += ["", "## Favourites", ""]
    if not favourites:
        out.append("None marked (press `f` on a loop to keep it).")
    for loop, path in favourites:
        out += [f"### {path.name}", "", *family_tree(session, loop), ""]
    return "\n".join(out) + "\n"


def write_summary(session: Session, folder: Path, performer=None, note_map=None) -> list[Path]:
    """Write the favourites as MIDI (played by `performer`, see evodrum.feel.Performer;
    None: straight; at `note_map`'s pitches, None: General MIDI) and summary.json /
    summary.md; returns the MIDI paths."""
    s = session.settings

    def heard(lp):
        return lp.grid if performer is None else performer.play(lp.grid, lp.id, s.bpm)
    ours, kept, favourites, digests = _written(folder), [], [], {}
    for lp in sorted(session.favourites(), key=lambda lp: lp.id):
        path = folder / FAVOURITES_DIR / f"loop-{lp.id:03d}.mid"
        name = str(path.relative_to(folder))
        if path.is_file() and file_digest(path) != ours.get(name):   # edited since it was written
            kept.append(name)
            digests[name] = ours.get(name)
        else:
            write_midi(path, heard(lp), session.spec, s.bpm, note_map=note_map)
            digests[name] = file_digest(path)
        favourites.append((lp, path))
    if kept:
        note(f"kept {', '.join(kept)} as you left {'them' if len(kept) > 1 else 'it'}: a "
             "favourite changed since the session wrote it is never written over (delete it "
             "to have it written again)")
    rows = generation_rows(session)
    atomic.write_json(folder / "summary.json", {
        "settings": s.to_dict(), "spec": session.spec.to_dict(),
        "generations": rows, "rated_loops": rated(session),
        "favourites": [{"id": lp.id, "file": str(path.relative_to(folder)), "op": lp.op,
                        "parents": list(lp.parents), "generation": lp.born + 1,
                        "rating": lp.rating, "sha256": digests[str(path.relative_to(folder))]}
                       for lp, path in favourites]})
    atomic.write_text(folder / "summary.md", markdown(session, rows, favourites))
    return [path for _, path in favourites]


def _written(folder: Path) -> dict[str, str]:
    """{favourite file: sha256 of the bytes the session last wrote there}, from the last
    summary.json (empty when there is none or it cannot be read: every existing file then
    counts as yours)."""
    try:
        d = statefile.read_json(folder / "summary.json", "session summary")
    except EvodrumError:
        return {}
    favourites = d.get("favourites") if isinstance(d, dict) else None
    return {f["file"]: f["sha256"] for f in favourites if isinstance(f, dict)
            and isinstance(f.get("file"), str) and isinstance(f.get("sha256"), str)} \
        if isinstance(favourites, list) else {}
