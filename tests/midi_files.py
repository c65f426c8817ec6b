"""Hand-made MIDI files for tests, written with mido directly (not evodrum's writer)."""
from __future__ import annotations

from pathlib import Path

import mido


def drum_file(path: Path, hits: list[tuple[float, int, int]], *, tpb: int = 480,
              channel: int = 9, midi_type: int = 1, length_beats: float | None = None,
              time_signature: tuple[int, int] | None = (4, 4), tempo_bpm: float = 120.0,
              extra_tempo_changes: bool = False) -> Path:
    """Write hits given as (beat, pitch, velocity) and return the path.

    Notes last a sixteenth, note-offs are note_on velocity 0 (as many sequencers do).
    """
    events = []
    for beat, pitch, vel in hits:
        t = round(beat * tpb)
        events.append((t, 1, mido.Message("note_on", channel=channel, note=pitch, velocity=vel)))
        events.append((t + tpb // 4, 0, mido.Message("note_on", channel=channel, note=pitch, velocity=0)))
    if extra_tempo_changes:
        events += [(round(b * tpb), 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)))
                   for b, bpm in ((1, 60), (2.5, 200), (5, 90))]
    events.sort(key=lambda e: (e[0], e[1]))
    meta = [mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm))]
    if time_signature:
        meta.append(mido.MetaMessage("time_signature", numerator=time_signature[0],
                                     denominator=time_signature[1]))
    track, last = mido.MidiTrack(), 0
    for t, _, msg in events:
        track.append(msg.copy(time=t - last))
        last = t
    end = round(length_beats * tpb) if length_beats is not None else last
    track.append(mido.MetaMessage("end_of_track", time=max(0, end - last)))
    mid = mido.MidiFile(type=midi_type, ticks_per_beat=tpb)
    if midi_type == 0:
        mid.tracks.append(mido.MidiTrack(meta + list(track)))
    else:
        mid.tracks.extend([mido.MidiTrack(meta), track])
    mid.save(path)
    return path


def basic_beat(bars: int = 1) -> list[tuple[float, int, int]]:
    """Kick on 1 and 3, snare on 2 and 4, closed hats on eighths, per bar."""
    hits = []
    for bar in range(bars):
        o = bar * 4
        hits += [(o + 0, 36, 100), (o + 2, 36, 90), (o + 1, 38, 110), (o + 3, 38, 105)]
        hits += [(o + e / 2, 42, 70) for e in range(8)]
    return hits
