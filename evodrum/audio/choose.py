"""Pick the renderer and player from what the user asked for and what is installed.

The CLI's listening options map one to one onto `open_player`'s arguments.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from evodrum.audio import synth
from evodrum.audio.audition import Audition
from evodrum.audio.files import FilePlayer
from evodrum.audio.midiport import MidiPortPlayer
from evodrum.audio.outputs import open_output
from evodrum.audio.players import AudioPlayer, Player, Renderer
from evodrum.audio.soundfont import FluidSynthRenderer, find_soundfont
from evodrum.errors import EvodrumError

SYNTHS = ("auto", "builtin", "fluidsynth")


def open_renderer(synth_name: str = "auto", soundfont: str | Path | None = None
                  ) -> tuple[Renderer, str]:
    """(renderer, description). "auto" means FluidSynth when a soundfont is given, or
    when fluidsynth and a system GM soundfont are installed; else the built-in kit."""
    if synth_name not in SYNTHS:
        raise EvodrumError(f"unknown synth {synth_name!r}: choose from {', '.join(SYNTHS)}")
    font = soundfont or (None if synth_name == "builtin" else find_soundfont())
    if synth_name == "builtin" or (
            synth_name == "auto" and not (soundfont or (font and shutil.which("fluidsynth")))):
        return synth.render, "built-in kit"
    if font is None:
        raise EvodrumError("--synth fluidsynth needs a General MIDI soundfont: "
                           "give --soundfont PATH or set EVODRUM_SOUNDFONT")
    return FluidSynthRenderer(font), f"FluidSynth ({Path(font).name})"


def open_player(output: str = "auto", midi_port: str | None = None, no_audio: bool = False,
                out_dir: str | Path = ".", synth_name: str = "auto",
                soundfont: str | Path | None = None, sr: int = synth.DEFAULT_SR,
                report: Callable[[str], None] | None = None, owned: bool = False,
                outputs=None, sync: dict | None = None, note_map=None) -> Player:
    """A Player: a MIDI port if named, files if no_audio, else audio on `output`.
    Audio is rendered for audition: loudness-normalised and cached (see `Audition`).
    `sync` (clock, clock_in, link, bpm) says how a MIDI port keeps time: MIDI clock out,
    following another app's clock, or a Link session; without a port only the default.
    `note_map` (evodrum.notemap) sets the pitches a port is sent and MIDI files hold.

    With no_audio, `owned` says out_dir is evodrum's own folder (files there are
    replaced); otherwise files the player did not write keep their names.
    """
    sync = dict(sync or {})
    if midi_port:
        return MidiPortPlayer.open(midi_port, **sync, note_map=note_map)
    if sync.get("clock_in") or sync.get("link"):
        raise EvodrumError(f"{'--clock-in' if sync.get('clock_in') else '--link'} needs "
                           "--midi-port: it keeps the loop sent to a synth or DAW in time "
                           "(the built-in kit and FluidSynth play on their own clock)")
    renderer, described = open_renderer(synth_name, soundfont)
    renderer = Audition(renderer)
    if no_audio:
        return FilePlayer(out_dir, renderer, sr, report, owned, outputs, note_map)
    return AudioPlayer(open_output(output), renderer, sr, described)
