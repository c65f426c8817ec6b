"""`--no-audio`: each loop is written as MIDI and WAV for the user's own player.

Nothing sounds here, so this works on any machine (servers, CI, a laptop
whose sound is busy); the WAV loops seamlessly in any player set to repeat.
A file the player did not write itself is never replaced (see evodrum.outpaths),
unless the folder is its own (an interactive session's listen/ folder).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from evodrum.audio.players import Player, Renderer
from evodrum.audio.synth import DEFAULT_SR, render
from evodrum.audio.wav import write_wav
from evodrum.midi import write_midi
from evodrum.outpaths import Outputs


class FilePlayer(Player):
    """Writes NAME.mid and NAME.wav into `out_dir` for every loop it is asked to play.

    Names taken by files this player did not write become NAME-2.*, NAME-3.*, ...;
    `owned=True` (a folder evodrum made for this purpose) replaces them instead.
    """

    def __init__(self, out_dir: str | Path, renderer: Renderer = render, sr: int = DEFAULT_SR,
                 report: Callable[[str], None] | None = None, owned: bool = False,
                 outputs: Outputs | None = None, note_map=None):
        self.out_dir = Path(out_dir)
        self.note_map = note_map          # the MIDI files' pitches (None: General MIDI)
        self.owned = owned
        self.outputs = outputs or Outputs()
        self.renderer, self.sr, self.report = renderer, sr, report
        self.description = f"files in {self.out_dir}"
        self.written: list[Path] = []
        self._count = 0

    def _start(self, grid, spec, bpm, loop, name):
        self._count += 1
        stem = name or f"loop-{self._count:03d}"
        audio = self.renderer(grid, spec, bpm, self.sr, "wrap" if loop else "ring")
        if self.owned:
            mid, wav = (self.out_dir / f"{stem}{suffix}" for suffix in (".mid", ".wav"))
        else:
            mid, wav = self.outputs.derived_set(self.out_dir, stem, [".mid", ".wav"])
        paths = [write_midi(mid, grid, spec, bpm, note_map=self.note_map),
                 write_wav(wav, audio, self.sr)]
        self.written.extend(paths)
        if self.report:
            self.report(f"wrote {paths[0]} and {paths[1]}")

    def stop(self):
        """Nothing is sounding, so there is nothing to stop."""

    def wait(self, timeout=None):
        return True
