"""A lenient, bounded Standard MIDI File reader: what drum reading needs, nothing more.

Real files are often a little broken: no End of Track (McDermott's published
outputs), junk after the last track, a track cut short. Those are read up to
the damage with a one-line warning that says how many notes were lost. What many
tools write and other readers (mido) accept is read without complaint: running
status continued across meta and sysex events, and a sequencer's own extra track
beyond the header's count (Seq66, Seq24), which gets a plain note. Files that
are not MIDI at all (an empty
file, a WAV, a text file, a folder, a pipe) are refused in plain words, and
what one file may cost (size, notes) is bounded (see evodrum.limits).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from evodrum import limits
from evodrum.errors import FileError
from evodrum.infile import NotAFile, open_regular

#: Longest variable-length quantity the standard allows (delta times, lengths).
MAX_VLQ_BYTES = 4
#: Data bytes after a channel status byte (0x8n .. 0xEn).
_DATA_BYTES = {0x8: 2, 0x9: 2, 0xA: 2, 0xB: 2, 0xC: 1, 0xD: 1, 0xE: 2}

#: File signatures of things people hand over by mistake, and what to call them.
SIGNATURES = (
    (b"RIFF", 8, b"WAVE", "this is a WAV audio file, not MIDI"),
    (b"fLaC", 0, b"", "this is a FLAC audio file, not MIDI"),
    (b"OggS", 0, b"", "this is an Ogg audio file, not MIDI"),
    (b"ID3", 0, b"", "this is an MP3 audio file, not MIDI"),
    (b"FORM", 8, b"AIFF", "this is an AIFF audio file, not MIDI"),
    (b"PK\x03\x04", 0, b"", "this is a zip archive, not MIDI (unzip it first)"),
    (b"\x93NUMPY", 0, b"", "this is a numpy .npy grid file, not MIDI: name it .npy"),
    (b"%PDF", 0, b"", "this is a PDF document, not MIDI"),
    (b"\x89PNG", 0, b"", "this is a PNG image, not MIDI"),
)


class NotMidi(FileError):
    """A file that cannot be read as MIDI; `reason` says why in plain words."""


@dataclass
class Smf:
    """The parts of a MIDI file that drum reading uses, with ticks as integers."""

    format: int
    ticks_per_beat: int
    #: One row per note-on with velocity > 0: tick, track, channel, pitch, velocity.
    notes: np.ndarray
    tempos: list[tuple[int, int]]                  # (tick, microseconds per beat)
    time_signatures: list[tuple[int, int, int]]    # (tick, numerator, denominator)
    track_names: dict[int, str]                    # track -> name (or instrument name)
    programs: dict[tuple[int, int], int]           # (track, channel) -> GM program 0-127
    end_tick: int                                  # the latest event (End of Track included)
    warnings: list[str] = field(default_factory=list)  # damage read past, notes lost
    info: list[str] = field(default_factory=list)      # plain notes: nothing lost


def read_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of a regular file (never blocks on a pipe), size-limited."""
    try:
        f, size = open_regular(path)
    except NotAFile as e:
        raise NotMidi(path, e.reason.replace("not a file", "not a MIDI file")) from None
    with f:
        limits.MIDI_BYTES.check(path, size, "the file's size")
        try:
            data = f.read(limits.MIDI_BYTES.value + 1)
        except OSError as e:
            raise NotMidi(path, f"cannot be read ({e.strerror or e})") from None
    limits.MIDI_BYTES.check(path, len(data), "the file's size")
    return data


def what_it_is(data: bytes) -> str:
    """A plain-words reason why `data` (which does not start with MThd) is not MIDI."""
    if not data:
        return "the file is empty"
    for magic, at, tag, reason in SIGNATURES:
        if data.startswith(magic) and data[at:at + len(tag)] == tag:
            return reason
    if data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "this is an MP3 audio file, not MIDI"
    head = data[:4096]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(c.isprintable() or c in "\r\n\t" for c in text):
        return "this is a text file, not MIDI"
    return "not a MIDI file (it does not start with the MIDI header 'MThd')"


def parse(path: str | os.PathLike, data: bytes | None = None) -> Smf:
    """Read a MIDI file leniently; NotMidi when nothing can be read."""
    data = read_bytes(path) if data is None else data
    start = data.find(b"MThd", 0, 1024) if data[:4] != b"MThd" else 0
    if data[:4] == b"RIFF" and data[8:12] == b"RMID":  # RIFF-wrapped MIDI (.rmi)
        start = data.find(b"MThd", 12)
    if start < 0:
        raise NotMidi(path, what_it_is(data))
    warnings = [] if start == 0 or data[:4] == b"RIFF" else [
        f"skipped {start} bytes before the MIDI header"]
    if len(data) < start + 14:
        raise NotMidi(path, "the file is cut short inside its header")
    size = int.from_bytes(data[start + 4:start + 8], "big")
    fmt, n_tracks, division = (int.from_bytes(data[start + 8 + 2 * i:start + 10 + 2 * i], "big")
                               for i in range(3))
    if division & 0x8000:
        raise NotMidi(path, "uses SMPTE (frames per second) timing, not beats: "
                      "export it with ticks per beat")
    if division == 0:
        raise NotMidi(path, "its header gives 0 ticks per beat, so no note has a time")
    if fmt > 2:
        raise NotMidi(path, f"its header names MIDI file type {fmt}; only 0, 1 and 2 exist")

    reader, info = _TrackReader(path, division), []
    pos, track = start + 8 + max(size, 6), 0
    while pos + 8 <= len(data):
        kind, length = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "big")
        if kind != b"MTrk":
            if track >= n_tracks or not kind.isalpha():
                warnings.append(f"ignored {len(data) - pos} bytes of junk after the last track")
                break
            pos += 8 + length  # an unknown chunk type: the standard says skip it
            continue
        body = data[pos + 8:pos + 8 + length]
        if track >= n_tracks:
            info.append(reader.read_extra(track, body, n_tracks))
        else:
            reader.read(track, body, warnings, cut=len(body) < length)
        pos, track = pos + 8 + length, track + 1
    if track == 0:
        raise NotMidi(path, "the file is cut short: it has a MIDI header but no tracks")
    if track < n_tracks:
        warnings.append(f"only {track} of the {n_tracks} tracks its header announces are there")
    return reader.result(fmt, division, warnings, info)




def _text(payload: bytes) -> str:
    """A name as its tool wrote it: UTF-8 (what DAWs write today), else Windows-1252 (older
    files), else Latin-1 (every byte a character), without control characters."""
    for encoding in ("utf-8", "cp1252", "latin-1"):
        try:
            text = payload.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    return "".join(c for c in text if c.isprintable()).strip()


@dataclass
class _Mark:
    """How much a _TrackReader had read at one point, and its names and programs then."""

    notes: int
    tempos: int
    signatures: int
    names: dict
    programs: dict


@dataclass
class _Walk:
    """Where reading a track has got to: the next byte, the event being read, its tick,
    the running status, and whether End of Track was reached."""

    pos: int = 0
    tick: int = 0
    status: int = 0
    event: int = 0
    ended: bool = False


class _TrackReader:
    """Walks track chunks byte by byte, collecting notes and the metadata drums need."""

    def __init__(self, path, ticks_per_beat: int):
        self.path, self.tpb = path, ticks_per_beat
        self.notes: list[tuple[int, int, int, int, int]] = []
        self.tempos: list[tuple[int, int]] = []
        self.signatures: list[tuple[int, int, int]] = []
        self.names: dict[int, str] = {}
        self.programs: dict[tuple[int, int], int] = {}
        self.end_tick = 0
        self.note_limit = limits.NOTES.value

    def _vlq(self, body: bytes, pos: int) -> tuple[int, int]:
        value = 0
        for i in range(MAX_VLQ_BYTES):
            if pos + i >= len(body):
                raise EOFError
            byte = body[pos + i]
            value = (value << 7) | (byte & 0x7F)
            if byte < 0x80:
                return value, pos + i + 1
        raise NotMidi(self.path, "is damaged: a time or length in it is longer than the "
                      f"{MAX_VLQ_BYTES} bytes MIDI allows")

    def read_extra(self, track: int, body: bytes, n_tracks: int) -> str:
        """Read a track beyond the header's count (Seq66 and Seq24 save their own data
        there); keep its notes if it has any, else drop all of it. A plain note."""
        mark = self._mark()
        self.read(track, body, [])
        found = len(self.notes) - mark.notes
        beyond = f"track {track + 1}, beyond the {n_tracks} the header announces,"
        if found:
            return f"read {beyond} with its {found} notes"
        self._back_to(mark)
        return (f"skipped {beyond} which holds no notes (a sequencer's own data, "
                "as Seq66 and Seq24 save)")

    def read(self, track: int, body: bytes, warnings: list[str], cut: bool = False) -> None:
        """Read one track's events; damage stops it with a warning saying what was lost.
        `cut`: the file ends before the track does (said once, however it ends)."""
        walk = _Walk()
        if cut:
            warnings.append(f"track {track + 1} is cut short (the file ends early)")
        try:
            self._walk(track, body, walk)
        except (EOFError, IndexError):   # an event runs past the end of the track
            if not cut:
                warnings.append(f"track {track + 1} is cut short in the middle of an event")
        except ValueError as e:
            lost = self._notes_after(track, body, walk)
            warnings.append(f"track {track + 1} is damaged ({e}); read up to beat "
                            f"{walk.tick / self.tpb:g}, losing "
                            + (f"about {lost} notes after it" if lost else "no notes"))
        else:
            if not walk.ended and not cut:
                warnings.append(f"track {track + 1} has no End of Track")
            elif walk.pos < len(body):
                self._read_past_end(track, body, walk, warnings)
        self.end_tick = max(self.end_tick, walk.tick)

    def _read_past_end(self, track: int, body: bytes, walk: "_Walk",
                       warnings: list[str]) -> None:
        """Events after a track's End of Track, as a broken exporter leaves them (mido
        reads them too): their notes are read up to any damage, with a warning that says
        what damage lost; without notes (padding) they are passed over. `walk` moves on
        to where they were read to when any are kept."""
        mark = self._mark()
        rest = _Walk(walk.pos, walk.tick, walk.status)
        damage, lost = "", 0
        try:
            while rest.pos < len(body):
                self._walk(track, body, rest)
        except (EOFError, IndexError):
            damage = "is cut short in the middle of an event"
        except (ValueError, NotMidi) as e:
            lost = self._notes_after(track, body, rest)
            damage = (f"is damaged ({getattr(e, 'reason', e)}) at beat "
                      f"{rest.tick / self.tpb:g}, losing "
                      + (f"about {lost} notes after it" if lost else "no notes"))
        found = len(self.notes) - mark.notes
        if not found:
            self._back_to(mark)
        if not found and not lost:
            return
        line = (f"track {track + 1} goes on after its End of Track (at beat "
                f"{walk.tick / self.tpb:g}): ")
        line += f"read its {found} notes after it" if found else "its notes there are lost"
        warnings.append(line + (f"; what follows them {damage}" if found and damage
                                else f"; it {damage}" if damage else ""))
        if found:
            walk.pos, walk.tick = rest.pos, rest.tick

    def _mark(self) -> _Mark:
        """What has been read so far, for `_back_to` to return to when a stretch of a
        file is dropped after reading it (a sequencer's own track, padding)."""
        return _Mark(len(self.notes), len(self.tempos), len(self.signatures),
                     dict(self.names), dict(self.programs))

    def _back_to(self, mark: _Mark) -> None:
        """Forget everything read since `mark`."""
        del self.notes[mark.notes:], self.tempos[mark.tempos:]
        del self.signatures[mark.signatures:]
        self.names, self.programs = mark.names, mark.programs

    def _notes_after(self, track: int, body: bytes, damaged: "_Walk") -> int:
        """How many notes a track holds past the damage that stopped it: an estimate,
        reading on with the same running status and skipping each byte that cannot be
        read. Those notes are counted, never kept."""
        scratch = _TrackReader(self.path, self.tpb)
        walk = _Walk(damaged.event + 1, damaged.tick, damaged.status)
        while walk.pos < len(body) and not walk.ended:
            try:
                scratch._walk(track, body, walk)
            except EOFError:
                break
            except (ValueError, IndexError, NotMidi):
                # on past the byte that failed; a bad delta time fails before its event
                # starts, so `event` may still point before it (that looped for ever)
                walk.pos = max(walk.pos, walk.event) + 1
        return len(scratch.notes)

    def _walk(self, track: int, body: bytes, walk: "_Walk") -> None:
        # `walk.status` is the running status: the last channel status byte. Meta and
        # sysex events leave it as it was (as mido reads): the standard says they cancel
        # it, but many tools continue it across them.
        while walk.pos < len(body):
            delta, pos = self._vlq(body, walk.pos)
            walk.event = pos
            walk.tick += delta
            first = body[pos]
            if first >= 0x80:
                pos += 1
            elif not 0x80 <= walk.status < 0xF0:
                raise ValueError("a data byte without a status byte")
            else:
                first = walk.status
            if first == 0xFF:
                kind = body[pos]
                length, pos = self._vlq(body, pos + 1)
                payload = body[pos:pos + length]
                if len(payload) < length:
                    raise EOFError
                pos += length
                if kind == 0x2F:
                    walk.pos, walk.ended = pos, True
                    return
                self._meta(track, walk.tick, kind, payload)
            elif first in (0xF0, 0xF7):
                length, pos = self._vlq(body, pos)
                pos += length
            elif first >= 0xF0:
                raise ValueError(f"a system message 0x{first:X} that has no place in a file")
            else:
                walk.status = first
                n = _DATA_BYTES[first >> 4]
                args = body[pos:pos + n]
                if len(args) < n:
                    raise EOFError
                if any(b >= 0x80 for b in args):
                    raise ValueError("a status byte where data should be")
                pos += n
                self._channel(track, walk.tick, first, args)
            walk.pos = pos

    def _channel(self, track: int, tick: int, status: int, args: bytes) -> None:
        kind, channel = status >> 4, status & 0x0F
        if kind == 0x9 and args[1] > 0:
            self.notes.append((tick, track, channel, args[0], args[1]))
            if len(self.notes) > self.note_limit:
                limits.NOTES.check(self.path, len(self.notes), "the file's note count")
        elif kind == 0xC:
            self.programs.setdefault((track, channel), args[0])

    def _meta(self, track: int, tick: int, kind: int, payload: bytes) -> None:
        if kind == 0x51 and len(payload) == 3:
            self.tempos.append((tick, int.from_bytes(payload, "big")))
        elif kind == 0x58 and len(payload) >= 2:
            self.signatures.append((tick, payload[0], 2 ** min(payload[1], 7)))
        elif kind in (0x03, 0x04) and payload:
            name = _text(payload)
            if name and (kind == 0x03 or track not in self.names):
                self.names[track] = name

    def result(self, fmt: int, tpb: int, warnings: list[str], info: list[str]) -> Smf:
        notes = (np.array(self.notes, dtype=np.int64) if self.notes
                 else np.zeros((0, 5), np.int64))
        order = np.argsort(notes[:, 0], kind="stable")
        return Smf(fmt, tpb, notes[order], sorted(self.tempos), sorted(self.signatures),
                   self.names, self.programs, self.end_tick, warnings, info)
