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


# --- files written the way other tools write them ------------------------------------

def note_seq_file(path: Path, hits: list[tuple[float, int, int]], *, bpm: float = 120.0,
                  step: float = 0.25) -> Path:
    """As note_seq (through pretty_midi) writes drums: 220 ticks per beat, a drum
    instrument on channel 10, each note one step long, End of Track at the last note."""
    import pretty_midi
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    drums = pretty_midi.Instrument(program=0, is_drum=True)
    spb = 60.0 / bpm
    for beat, pitch, vel in hits:
        drums.notes.append(pretty_midi.Note(velocity=vel, pitch=pitch, start=beat * spb,
                                            end=(beat + step) * spb))
    pm.instruments.append(drums)
    pm.write(str(path))
    return path


def beat_studio_pattern(path: Path) -> Path:
    """A 2-bar pattern as small pattern apps export it: type 0, 96 ticks per beat,
    running status with note-on velocity 0 as note-off, no time signature, and End of
    Track right after the last note-off (bar 2 ends in rests)."""
    hits = [(0, 36, 110), (1, 38, 100), (2.5, 36, 90), (3, 38, 100), (4, 36, 110),
            (5, 38, 100), (5.5, 42, 60)]
    hits += [(e / 2, 42, 70) for e in range(10)]
    return drum_file(path, hits, tpb=96, midi_type=0, time_signature=None)


def melody_file(path: Path, *, low: int = 60, channel: int = 0, program: int | None = None,
                name: str | None = None) -> Path:
    """A stepwise melody (a scale up and down, middle-C rhythms) on a melodic channel."""
    scale = [0, 2, 4, 5, 7, 9, 11, 12, 11, 9, 7, 5, 4, 2, 0, 2]
    tpb, track = 480, mido.MidiTrack()
    if name:
        track.append(mido.MetaMessage("track_name", name=name))
    if program is not None:
        track.append(mido.Message("program_change", channel=channel, program=program))
    for i, step in enumerate(scale):
        track.append(mido.Message("note_on", channel=channel, note=low + step, velocity=80,
                                  time=0 if i == 0 else tpb // 2))
        track.append(mido.Message("note_off", channel=channel, note=low + step, time=tpb // 2))
    mid = mido.MidiFile(type=0, ticks_per_beat=tpb)
    mid.tracks.append(track)
    mid.save(path)
    return path


def song_file(path: Path, *, intro_bars: int = 4, bars: int = 16) -> Path:
    """A DAW song export: a conductor track with tempo changes (96, then 100 from bar 9,
    then 90 from bar 13), a piano, a bass (program 34) and drums on channel 10 that come
    in after a silent intro."""
    tpb = 480
    conductor = mido.MidiTrack([
        mido.MetaMessage("track_name", name="Song"),
        mido.MetaMessage("time_signature", numerator=4, denominator=4),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(96)),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100), time=32 * tpb),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(90), time=16 * tpb),
        # a DAW exports the whole arrangement: the file ends at the end of its last bar
        mido.MetaMessage("end_of_track", time=(4 * bars - 48) * tpb)])

    def part(name, channel, notes, program=None):
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
        if program is not None:
            track.append(mido.Message("program_change", channel=channel, program=program))
        events = sorted([(round(b * tpb), 1, n, v) for b, n, v in notes]
                        + [(round((b + 0.25) * tpb), 0, n, 0) for b, n, v in notes])
        last = 0
        for t, _, n, v in events:
            track.append(mido.Message("note_on", channel=channel, note=n, velocity=v,
                                      time=t - last))
            last = t
        return track

    piano = [(4 * b + i, p, 70) for b in range(bars) for i, p in enumerate((60, 64, 67, 72))]
    bass = [(4 * b + i, p, 90) for b in range(bars) for i, p in enumerate((36, 38, 40, 41))]
    drums = [(4 * intro_bars + b, p, v) for b, p, v in basic_beat(bars - intro_bars)]
    mid = mido.MidiFile(type=1, ticks_per_beat=tpb)
    mid.tracks.extend([conductor, part("Piano", 0, piano, 0), part("Bass", 1, bass, 33),
                       part("Drums", 9, drums)])
    mid.save(path)
    return path


def mixed_metre_file(path: Path, *, before: int = 85, after: int = 6) -> Path:
    """`before` bars of 4/4 (85 bars: 340 beats), one bar of 9/8, `after` bars of 4/4."""
    tpb, events = 480, []
    hits = basic_beat(before) + [(4 * before + e / 2, 42, 70) for e in range(9)]
    start = 4 * before + 4.5
    hits += [(start + b, p, v) for b, p, v in basic_beat(after)]
    for beat, pitch, vel in hits:
        t = round(beat * tpb)
        events += [(t, 1, mido.Message("note_on", channel=9, note=pitch, velocity=vel)),
                   (t + tpb // 4, 0, mido.Message("note_off", channel=9, note=pitch))]
    events += [(0, -1, mido.MetaMessage("time_signature", numerator=4, denominator=4)),
               (4 * before * tpb, -1, mido.MetaMessage("time_signature", numerator=9,
                                                       denominator=8)),
               (round(start * tpb), -1, mido.MetaMessage("time_signature", numerator=4,
                                                         denominator=4))]
    events.sort(key=lambda e: (e[0], e[1]))
    track, last = mido.MidiTrack(), 0
    for t, _, msg in events:
        track.append(msg.copy(time=t - last))
        last = t
    track.append(mido.MetaMessage("end_of_track", time=round((start + 4 * after) * tpb) - last))
    mid = mido.MidiFile(type=0, ticks_per_beat=tpb)
    mid.tracks.append(track)
    mid.save(path)
    return path


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4:pos + 8], "big")
        out.append((data[pos:pos + 4], data[pos + 8:pos + 8 + size]))
        pos += 8 + size
    return out


def strip_end_of_track(path: Path) -> Path:
    """Remove every End of Track (with its zero delta), fixing the chunk lengths."""
    out = b""
    for kind, body in _chunks(path.read_bytes()):
        if kind == b"MTrk" and body.endswith(b"\x00\xff\x2f\x00"):
            body = body[:-4]
        out += kind + len(body).to_bytes(4, "big") + body
    path.write_bytes(out)
    return path


def raw_midi(path: Path, track_body: bytes, *, tpb: int = 480, fmt: int = 0) -> Path:
    """A one-track file from raw track bytes (for damaged and hostile files)."""
    header = b"MThd" + (6).to_bytes(4, "big") + fmt.to_bytes(2, "big") + (1).to_bytes(2, "big")
    header += tpb.to_bytes(2, "big")
    path.write_bytes(header + b"MTrk" + len(track_body).to_bytes(4, "big") + track_body)
    return path


# --- round 3: sequencer saves, e-kits, parser test suites ------------------------------

def two_bars(after: bytes) -> bytes:
    """Raw track bytes: two bars of kick and snare on the beats (8 notes), End of Track,
    then `after` (for files whose track goes on past its end)."""
    body = b""
    for q in range(8):
        pitch = 36 if q % 2 == 0 else 38
        body += (vlq(0 if q == 0 else 420) + bytes([0x99, pitch, 100]) + vlq(60)
                 + bytes([0x89, pitch, 0]))
    return body + b"\x00\xff\x2f\x00" + after


def meta_events(path, kind: str) -> list[tuple[float, object]]:
    """(beat, value) of every `kind` meta event a MIDI file sets, in any track, in order:
    BPM (to 3 decimals) for "set_tempo", "n/d" for "time_signature"."""
    value = {"set_tempo": lambda m: round(mido.tempo2bpm(m.tempo), 3),
             "time_signature": lambda m: f"{m.numerator}/{m.denominator}"}[kind]
    mid, out = mido.MidiFile(path), []
    for track in mid.tracks:
        tick = 0
        for m in track:
            tick += m.time
            if m.type == kind:
                out.append((tick / mid.ticks_per_beat, value(m)))
    return sorted(out)


def vlq(value: int) -> bytes:
    """A MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def running_status_track(hits: list[tuple[float, int, int]], *, tpb: int = 480, channel: int = 9,
                         meta_every_beats: float | None = 4.0, sysex: bool = False) -> bytes:
    """Track bytes as compact writers save them: one note-on status byte for the whole
    track, note-offs as velocity 0, and that running status continued across the text
    (or sysex) events placed every `meta_every_beats` beats, as many tools do."""
    events = []
    for beat, pitch, vel in hits:
        t = round(beat * tpb)
        events += [(t, 1, bytes([pitch, vel])), (t + tpb // 8, 0, bytes([pitch, 0]))]
    if meta_every_beats:
        last = max(b for b, _, _ in hits)
        marks = [round(i * meta_every_beats * tpb)
                 for i in range(int(last // meta_every_beats) + 1)]
        for i, t in enumerate(marks):
            body = (b"\xf0\x05\x7e\x7f\x09\x01\xf7" if sysex
                    else b"\xff\x01" + vlq(len(f"bar {i + 1}")) + f"bar {i + 1}".encode())
            events.append((t, -1, body))
    events.sort(key=lambda e: (e[0], e[1]))
    out, last, status_sent = bytearray(), 0, False
    for t, kind, body in events:
        out += vlq(t - last)
        last = t
        if kind >= 0 and not status_sent:
            out.append(0x90 | channel)
            status_sent = True
        out += body
    return bytes(out + b"\x00\xff\x2f\x00")


def raw_smf(path: Path, tracks: list[bytes], *, tpb: int = 480, fmt: int = 1,
            header_tracks: int | None = None, after: bytes = b"") -> Path:
    """A file from raw track bodies; `header_tracks` may claim fewer tracks than there are
    (as Seq66 saves its own extra track), `after` is appended after the last chunk."""
    count = len(tracks) if header_tracks is None else header_tracks
    data = b"MThd" + (6).to_bytes(4, "big") + fmt.to_bytes(2, "big") + count.to_bytes(2, "big")
    data += tpb.to_bytes(2, "big")
    for body in tracks:
        data += b"MTrk" + len(body).to_bytes(4, "big") + body
    path.write_bytes(data + after)
    return path


def conductor_track(*, bpm: float = 120.0, numerator: int = 4, denominator: int = 4,
                    tempo_changes: list[tuple[float, float]] = (), tpb: int = 480) -> bytes:
    """A type-1 conductor track: time signature, tempo, and later tempo changes (beat, BPM)."""
    import math
    body = bytearray(b"\x00\xff\x58\x04" + bytes([numerator, int(math.log2(denominator)), 24, 8]))
    body += b"\x00\xff\x51\x03" + mido.bpm2tempo(bpm).to_bytes(3, "big")
    last = 0
    for beat, change in tempo_changes:
        t = round(beat * tpb)
        body += vlq(t - last) + b"\xff\x51\x03" + mido.bpm2tempo(change).to_bytes(3, "big")
        last = t
    return bytes(body + b"\x00\xff\x2f\x00")


def seq66_extra_track(*, wrapped: bool) -> bytes:
    """The proprietary track Seq66 (and Seq24, Sequencer64) append after the tracks the
    header counts: 0x242400nn tags with their data, wrapped as sequencer-specific meta
    events (Seq66) or bare (Seq24's legacy format, which other readers call damaged)."""
    body = bytearray()
    for tag, data in ((0x24240010, b"\x00\x00\x00\x00"), (0x24240003, b"\x00\x00\x00\x10"),
                      (0x24240007, b"\x00\x00\x00\x78")):
        payload = tag.to_bytes(4, "big") + data
        body += (b"\x00\xff\x7f" + vlq(len(payload)) + payload) if wrapped else b"\x00" + payload
    return bytes(body + (b"\x00\xff\x2f\x00" if wrapped else b""))


def metred_file(path, metres: list[tuple[int, int]], tpb: int = 480):
    """A file of bars in `metres` (a time signature at each change), each bar a kick on
    its downbeat, eighth hats, and a crash on its 16th step k (k counted over the 4/4 bars
    only), so where each 4/4 bar lands shows."""
    timed, beat, last, k = [], 0.0, None, 0
    for num, den in metres:
        if (num, den) != last:
            timed.append((round(beat * tpb), 0, mido.MetaMessage(
                "time_signature", numerator=num, denominator=den)))
            last = (num, den)
        length = num * 4 / den
        hits = [(beat, 36, 110)] + [(beat + e / 2, 42, 70) for e in range(int(2 * length))]
        if (num, den) == (4, 4):
            hits.append((beat + k / 4, 49, 110))
            k += 1
        for at, pitch, vel in hits:
            t = round(at * tpb)
            timed += [(t, 2, mido.Message("note_on", channel=9, note=pitch, velocity=vel)),
                      (t + 60, 1, mido.Message("note_on", channel=9, note=pitch, velocity=0))]
        beat += length
    track, now = mido.MidiTrack(), 0
    for t, _, msg in sorted(timed, key=lambda e: e[:2]):
        track.append(msg.copy(time=t - now))
        now = t
    mido.MidiFile(ticks_per_beat=tpb, tracks=[track]).save(path)
    return path


def kick_steps(loops) -> list[list[int]]:
    """The kick's steps in each window of a file read by gridfile.read_file (metred_file
    puts one on each downbeat)."""
    import numpy as np

    from evodrum import kit
    kick = kit.ROWS.index("BD")
    return [np.flatnonzero(g[kick]).tolist() for g in loops.grids]
