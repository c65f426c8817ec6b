"""Listening to loops: a built-in drum synthesiser, FluidSynth rendering, WAV files,
and players (speakers, a MIDI port, or files) that loop in the background.

Start with `open_player(...)` for a `Player`, or `render(grid, spec, bpm)` for audio.
"""
from evodrum.audio.choose import open_player, open_renderer
from evodrum.audio.players import Player
from evodrum.audio.synth import render
from evodrum.audio.wav import read_wav, write_audio, write_wav

__all__ = ["open_player", "open_renderer", "Player", "render", "read_wav", "write_audio", "write_wav"]
