"""Opening and closing a session, for the terminal and the studio alike: resume one
from its folder (checking it decodes with the same model) or start a new one in a
fresh folder (beside an `--out` that already holds a session or other files);
at the end, make sure it is on disk and write the favourites and summary."""
from __future__ import annotations

from pathlib import Path

from evodrum.errors import EvodrumError
from evodrum.genotypes import Space
from evodrum.interactive import store
from evodrum.interactive.breeding import new_session
from evodrum.interactive import models
from evodrum.interactive.saving import Saver
from evodrum.interactive.session import Session, Settings
from evodrum.interactive.summary import write_summary
from evodrum.runs import new_run_dir


def resume_session(where: str | Path, bpm: float | None = None
                   ) -> tuple[Session, Path, Space]:
    """(session, its folder, its space) of the session saved at `where`; `bpm` changes
    the tempo (the only setting that may change on resume)."""
    path = store.session_path(where)
    session = store.load(path)
    space = models.open_space(session.settings)
    models.check_same_model(session, space, str(path))
    wrong = next((lp for lp in session.loops.values() if len(lp.genotype) != space.dim), None)
    if wrong is not None:
        raise EvodrumError(f"{path}: damaged session file: loop #{wrong.id}'s genotype holds "
                           f"{len(wrong.genotype)} numbers, the {space.name} space {space.dim}")
    if bpm is not None and bpm != session.settings.bpm:
        session.set_bpm(bpm)   # saved with the session
    return session, path.parent, space


def start_session(settings: Settings, out: str | Path | None = None
                  ) -> tuple[Session, Path, Space]:
    """(session, its new folder, its space) for new `settings`, in `out` or
    runs/interactive-DATE-TIME."""
    space = models.open_space(settings)
    session = new_session(settings, space)
    return session, new_run_dir("interactive", out), space


def finish_session(saver: Saver, folder: Path, performer=None, note_map=None) -> list[Path]:
    """Save the session (a rescue copy if its folder still refuses: EvodrumError naming
    it), then write the favourites as MIDI (played by `performer`, see
    evodrum.feel.Performer; None: straight) and the summary; returns the MIDI paths."""
    rescued = saver.rescue()
    if rescued is not None:
        raise EvodrumError(f"{folder}: the session could not be saved there "
                           f"({saver.problem}); it is safe in {rescued} "
                           f"(continue: evodrum interactive --resume {rescued.parent})")
    try:
        return write_summary(saver.session, folder, performer, note_map)
    except OSError as e:
        raise EvodrumError(f"{folder}: the session is saved, but the favourites and "
                           f"summary could not be written ({e.strerror or e})") from None
