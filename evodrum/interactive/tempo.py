"""A session's one tempo: the one asked for, else the first seed loop's, else 120 BPM.
Playback and every file the session writes use it (`Settings.bpm`)."""
from __future__ import annotations

from dataclasses import replace

from evodrum.gridfile import read_file
from evodrum.grid import GridSpec
from evodrum.interactive.session import Settings
from evodrum.midi import DEFAULT_BPM


def session_tempo(settings: Settings, spec: GridSpec) -> float:
    """`settings.bpm`, else the first seed loop's tempo where its drums come in, else 120."""
    if settings.bpm is not None:
        return float(settings.bpm)
    if settings.seed_loops:
        loops = read_file(settings.seed_loops[0], spec, settings.drum_map,
                          drum_channel=settings.drum_channel, hint=False)  # the model's grid
        return round(loops.bpm(loops.index(None), DEFAULT_BPM), 3)
    return DEFAULT_BPM


def with_tempo(settings: Settings, spec: GridSpec) -> Settings:
    """The settings with their tempo settled (see `session_tempo`)."""
    return replace(settings, bpm=session_tempo(settings, spec))
