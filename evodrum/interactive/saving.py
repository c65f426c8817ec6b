"""Saving a session after every change, and carrying on when the disk refuses.

The terminal controller and the studio share this: a save that fails with an
OSError (disk full, read-only, folder gone) keeps the session in memory, says
so once, and is tried again at the next change; `rescue` writes a copy to the
system's temporary folder when the session folder never recovers.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from evodrum.interactive import store
from evodrum.interactive.session import Session


class Saver:
    """Saves `session` to `folder`/session.json; collects what the user should be told.
    With `journal=True` (the studio) a save appends only what changed (store.Journal)."""

    def __init__(self, session: Session, folder: Path, journal: bool = False):
        self.session, self.path = session, Path(folder) / store.SESSION_FILE
        self.journal = store.Journal(self.path) if journal else None
        self.problem: str | None = None     # why the last save failed, until one works
        self.notes: list[str] = []           # what saving had to say, shown next

    def save(self) -> bool:
        """Save the session if it changed; True when everything is on disk."""
        if not self.session.dirty:
            return True
        try:
            if self.journal is not None:
                self.journal.save(self.session)
            else:
                store.save(self.session, self.path)
        except OSError as e:
            if self.problem is None:
                self.notes.append(f"! cannot save the session to {self.path} "
                                  f"({e.strerror or e}): it is kept in memory and saving is "
                                  "tried again after every change")
            self.problem = e.strerror or str(e)
            return False
        if self.problem is not None:
            self.notes.append(f"session saved again in {self.path}")
            self.problem = None
        return True

    def rescue(self) -> Path | None:
        """When the session folder still refuses the session, write it to a new folder in
        the system's temporary folder; returns that file (None if nothing was unsaved)."""
        if self.save():
            return None
        folder = Path(tempfile.mkdtemp(prefix="evodrum-rescued-session-"))
        store.save(self.session, folder / store.SESSION_FILE)
        return folder / store.SESSION_FILE

    def take_notes(self) -> list[str]:
        notes, self.notes = self.notes, []
        return notes
