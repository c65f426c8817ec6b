"""The studio's state: one interactive session and the operations its views call.

Everything here is plain Python (no HTTP), so it is tested directly and the web
layer only parses requests. Every change is saved at once through the same
`Saver` as the terminal session (a disk that refuses keeps the session in
memory and is retried). One lock serialises the operations: the web server may
call them from several threads.
"""
from __future__ import annotations

import io
import threading
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from evodrum import checks, notemap
from evodrum.audio import synth
from evodrum.audio.loudness import gain_db
from evodrum.audio.voices import one_shots
from evodrum.audio.wav import wav_bytes
from evodrum.errors import EvodrumError
from evodrum.feel import SWING_RANGE, Feel, Performer
from evodrum.genotypes import Space
from evodrum.grid import (
    VELOCITY_LEVELS,
    from_midi_velocity,
    quantize_velocity,
    to_midi_velocity,
)
from evodrum.genotypes.locked import locked
from evodrum.interactive import breeding
from evodrum.interactive.saving import Saver
from evodrum.interactive.session import (
    OPERATORS,
    RATING_MAX,
    TEMPO_MAX,
    TEMPO_MIN,
    History,
    Loop,
    Session,
)
from evodrum.kit import ROWS
from evodrum.lock import Lock
from evodrum.midi import grid_to_midi

SAMPLE_RATE = 44100
#: Settings that say how loops are played, which the studio's undo leaves alone.
PLAYBACK = ("bpm", "feel", "swing")
#: Where a tempo comes from besides being typed (None): a followed MIDI clock, Link.
TEMPO_SOURCES = (None, "clock", "link")
#: Loudness is measured on a 22.05 kHz render: within 0.1 LU of 44.1 kHz, and quick
#: enough for every slider move (the decode round trip's budget is 30 ms).
GAIN_RATE = 22050


def midi_bytes(grid, spec, bpm: float, note_map=None) -> bytes:
    """A loop (a grid, or a Loop with its feel) as a standard MIDI file, in memory, at
    `note_map`'s pitches (None: General MIDI)."""
    out = io.BytesIO()
    grid_to_midi(grid, spec, bpm, note_map=note_map).save(file=out)
    return out.getvalue()


def loop_key(grid: np.ndarray) -> int:
    """The key a loop from outside the session plays under (Performer.take): from its
    pattern, so it is heard and written with one take, and above every session id."""
    return 2**40 + zlib.crc32(to_midi_velocity(grid).tobytes())


def directions_of(space: Space, model: str | None = None):
    """The named attribute/style directions beside a VAE space's model file (`model`,
    or the shipped one), or None (PCA, grid, or a model without a directions file)."""
    if space.name != "vae":
        return None
    from vae import directions
    from vae.cards import resolve
    representation = space.representation
    if getattr(representation, "directions", None) is None:
        representation.source = getattr(representation, "source", None) or resolve(model)
    try:
        return directions.for_model(representation)
    except EvodrumError:
        return None


def slider_words(name: str, kind: str) -> dict:
    """A slider's plain label ('kick & snare syncopation', 'kick density', 'funk style')
    and its tooltip (the direction's own name and what it measures)."""
    from fitness.features import FEATURE_NAMES, about, plain_name
    if kind == "style":
        return {"label": f"{name.removeprefix('style:')} style",
                "about": f"{name}: towards the corpus's {name.removeprefix('style:')} loops"}
    if name in FEATURE_NAMES:
        return {"label": plain_name(name), "about": about(name)}
    row, _, feature = name.partition(".")
    if row in DRUM_WORDS and feature == "density":
        drum = DRUM_WORDS[row]
        return {"label": f"{drum} density", "about": f"{name}: share of steps the {drum} plays"}
    return {"label": name, "about": name}


#: Each row as a drummer names it, for slider labels.
DRUM_WORDS = {"BD": "kick", "SD": "snare", "CH": "closed hi-hat", "OH": "open hi-hat",
              "RD": "ride", "CR": "crash", "LT": "low tom", "MT": "mid tom", "HT": "high tom"}


class Studio:
    """A session folder opened for the browser: read views, change the session."""

    def __init__(self, session: Session, folder: Path, space: Space, directions=None,
                 performer=None, note_map=None):
        self.session, self.folder, self.space = session, Path(folder), space
        # the note maps the page offers (shipped ones, and the user's --note-map file)
        self.note_maps = {key: notemap.load(key) for key in notemap.builtin_names()}
        self.default_map = (note_map or notemap.load(None)).key
        if note_map is not None:
            self.note_maps[note_map.key] = note_map
        self.directions = directions          # vae.directions.Directions, or None
        # how loops are played and written: the model's feel (or none) at the feel and
        # swing sliders' values, which the session keeps
        self.performer = performer or Performer(
            Feel("straight", 0.0, swing=session.settings.swing or 50.0), session.spec,
            seed=session.settings.seed, locked=lambda: session.lock)
        session.set_feel(self.performer.feel.amount, self.performer.feel.swing)
        self.link = None                      # the Ableton Link session joined, or None
        self.saver = Saver(session, self.folder, journal=True)
        self.lock = threading.RLock()
        self._gains: dict[tuple, float] = {}
        self._undo = History()                     # what was done, for Ctrl+Z
        self.saver.save()

    # --- what the page shows ------------------------------------------------------

    def loop_view(self, loop: Loop, generation: int) -> dict:
        """One loop for the page: its grid as MIDI velocities, lineage, verdict, gain."""
        s = self.session
        bred_from = s.generation(generation).bred_from
        earlier = [] if bred_from is None else s.generation(bred_from).loop_ids
        return {
            "id": loop.id, "grid": to_midi_velocity(loop.grid).tolist(),
            "rating": loop.rating, "favourite": loop.favourite, "op": loop.op,
            "about": OPERATORS.get(loop.op, loop.op), "source": loop.source,
            "parents": [{"id": p, "position": earlier.index(p) + 1 if p in earlier else None}
                        for p in loop.parents],
            "kept": loop.born != generation, "born": loop.born + 1,
            "original": None if loop.original is None else to_midi_velocity(loop.original).tolist(),
            "changed_onsets": loop.changed_onsets(),
            "feel": self.feel_view(loop.grid, loop.id),
            "gain_db": self.gain(loop.grid),
            "genotype": [round(float(g), 5) for g in loop.genotype] if self.space.dim <= 64 else None,
        }

    def feel_view(self, grid: np.ndarray, key: int) -> dict | None:
        """The model's full take of a loop (`key`: its id, see loop_key) for the page: its
        velocities as MIDI levels and its offsets in steps, which the feel slider blends
        in; None when loops play straight."""
        if not self.performer.adjustable:
            return None
        take = self.performer.take(grid, key, self.session.settings.bpm)
        return {"grid": to_midi_velocity(take.velocities).tolist(),
                "offsets": np.round(take.offsets, 4).tolist()}

    def heard(self, grid: np.ndarray, key: int, bpm: float | None = None,
              keep_lock: bool = True):
        """A loop as the page plays it now: with the feel and swing sliders' values and,
        for a session loop (`keep_lock`), the locked rows as the musician plays them."""
        bpm = self.session.settings.bpm if bpm is None else bpm
        return self.performer.play(grid, key, bpm, keep_lock=keep_lock)

    @property
    def feel_amount(self) -> float:
        """The feel slider: how much of the model's take is heard, 0..1."""
        return self.performer.feel.amount

    @property
    def swing(self) -> float:
        """The swing slider, in percent (50 straight)."""
        return self.performer.feel.swing

    def set_feel(self, amount: float, swing: float) -> dict:
        """Move the feel and swing sliders: heard at once, in exports, saved."""
        if not 0 <= amount <= 1 or not SWING_RANGE[0] <= swing <= SWING_RANGE[1]:
            raise EvodrumError(f"feel is 0 to 1 and swing {SWING_RANGE[0]:g} to "
                               f"{SWING_RANGE[1]:g}")
        with self.lock:
            self.performer.adjust(float(amount), float(swing))
            self.session.set_feel(self.performer.feel.amount, self.performer.feel.swing)
            return self._changed()

    def played_view(self, levels) -> dict:
        """A loop from outside the session (a Target result, a Map cell) as the page plays
        it: the model's take (its key from the pattern, so a file written later has the
        same take) and its loudness gain."""
        grid = self.grid_from_levels(levels)
        with self.lock:
            return {"feel": self.feel_view(grid, loop_key(grid)), "gain_db": self.gain(grid)}

    def view(self) -> dict:
        """The whole page state: settings, the generation on screen and its loops."""
        with self.lock:
            s = self.session
            gen = s.generation()
            return {
                "folder": str(self.folder), "space": s.settings.space, "bpm": s.settings.bpm,
                "spec": s.spec.to_dict(), "rows": list(ROWS), "rating_max": RATING_MAX,
                "generation": gen.index + 1, "generations": len(s.generations),
                "bred_from": None if gen.bred_from is None else gen.bred_from + 1,
                "is_last": gen.index == len(s.generations) - 1,
                "adventure": s.settings.adventure, "selected": s.selected + 1,
                "feel": self.feel_amount, "swing": self.swing,
                "has_feel": self.performer.adjustable,
                "tree": [{"generation": g.index + 1,
                          "bred_from": None if g.bred_from is None else g.bred_from + 1}
                         for g in s.generations],
                "loops": [self.loop_view(lp, gen.index) for lp in s.shown()],
                "latent": self.space.dim if self.space.name != "grid" else 0,
                "attributes": self.attributes(),
                "save_problem": self.saver.problem, "notes": self.saver.take_notes(),
                "locked": self.lock_view(), "undo": self._undo.last,
                "history": [{"id": lp.id, "generation": lp.born + 1, "rating": lp.rating,
                             "favourite": lp.favourite, "op": lp.op}
                            for lp in sorted(s.loops.values(), key=lambda lp: lp.id)],
            }

    def lock_view(self) -> dict:
        """What is locked: whole rows, loose (hand-edited) cells, a line saying so, the mask."""
        lock = self.session.lock
        if lock is None:
            return {"rows": [], "cells": 0, "about": "nothing locked", "mask": None}
        return {"rows": list(lock.rows), "cells": lock.cells, "about": lock.describe(),
                "mask": lock.mask.astype(int).tolist()}

    @property
    def decoding_space(self) -> Space:
        """The session's space decoding through its lock: what every new loop is made by."""
        return locked(self.space, self.session.lock)

    def attributes(self) -> list[dict]:
        """The named attribute and style sliders the model has (helper 14's directions)."""
        if self.directions is None:
            return []
        return [{"name": d["name"], "kind": d["kind"], "unit": d["unit"], "range": d["range"],
                 **slider_words(d["name"], d["kind"])}
                for d in self.directions.listing()]

    def gain(self, grid: np.ndarray) -> float:
        """dB that bring this loop's built-in render to the audition loudness (cached; the
        cache is emptied past 4,096 entries, as a DAW's tempo ramp adds one per tempo)."""
        bpm = self.session.settings.bpm
        key = (np.ascontiguousarray(grid).tobytes(), bpm)
        if key not in self._gains:
            if len(self._gains) >= 4096:
                self._gains.clear()
            audio = synth.render(grid, self.session.spec, bpm, GAIN_RATE)
            self._gains[key] = round(gain_db(audio, GAIN_RATE), 2)
        return self._gains[key]

    # --- changing the session ----------------------------------------------------

    def _position(self, loop_id: int) -> int:
        return self.session.position_of(int(loop_id))

    def _changed(self) -> dict:
        self.saver.save()
        return self.view()

    def _remember(self, what: str) -> None:
        """Keep the session as it is before a change, for undo."""
        self._undo.remember(self.session, what)

    def undo(self) -> dict:
        """Take back the last rating, favourite, breeding, lock or vary (Ctrl+Z). How
        loops are played (the tempo, which a followed DAW may have set, and the feel and
        swing sliders) is no step of the search: undo leaves it as it is."""
        with self.lock:
            played = {k: getattr(self.session.settings, k) for k in PLAYBACK}
            what = self._undo.undo(self.session)
            self.session.settings = replace(self.session.settings, **played)
            self.saver.notes.append(f"undone: {what}")
            return self._changed()

    def rate(self, loop_id: int, rating: int | None) -> dict:
        with self.lock:
            position = self._position(loop_id)
            self._remember(f"rating of #{loop_id}")
            self.session.rate(position, rating)
            return self._changed()

    def favourite(self, loop_id: int) -> dict:
        with self.lock:
            position = self._position(loop_id)
            self._remember(f"favourite #{loop_id}")
            self.session.toggle_favourite(position)
            return self._changed()

    def set_lock(self, rows: list, loop_id: int | None, keep_edits: bool = True) -> dict:
        """Lock whole rows: a newly locked row is taken from loop `loop_id` (the one you
        hear; for a seed loop or an edit, as you wrote it: the file's hits, velocities and
        timing), rows already locked keep their cells; `keep_edits` False releases the
        hand-edited cells."""
        from evodrum.lock import parse_rows
        with self.lock:
            wanted = parse_rows(",".join(str(r) for r in rows)) if rows else ()
            old = self.session.lock
            held = old.rows if old is not None else ()
            new = [r for r in wanted if r not in held]
            if new and loop_id is None:
                raise EvodrumError("say which loop's rows to lock (its id)")
            lock = None
            if old is not None:
                keep = np.zeros(old.mask.shape, bool)
                keep[[ROWS.index(r) for r in held if r in wanted]] = True
                if keep_edits:
                    keep |= old.mask & ~old.mask.all(axis=1, keepdims=True)
                lock = old.within(keep)
            if new:
                loop = self.loop(loop_id)
                rows_lock = Lock.of_rows(new, loop.grid if loop.original is None
                                         else loop.original, loop.original_offsets)
                lock = rows_lock if lock is None else lock | rows_lock
            self._remember("lock")
            self.session.set_lock(lock)
            return self._changed()

    def select(self, loop_id: int) -> dict:
        with self.lock:
            self.session.select(self._position(loop_id))
            return self._changed()

    def breed(self) -> dict:
        """The next generation from the one on screen (a branch when it is not the last)."""
        with self.lock:
            self._remember(f"breeding generation {len(self.session.generations) + 1}")
            breeding.breed(self.session, self.space)
            return self._changed()

    def back(self) -> dict:
        with self.lock:
            self.session.go_to(self.session.previous())
            return self._changed()

    def go_to(self, generation: int) -> dict:
        with self.lock:
            self.session.go_to(int(generation) - 1)
            return self._changed()

    def set_tempo(self, bpm: float, source: str | None = None) -> dict:
        """The session's one tempo: playback, MIDI and WAV exports all follow it. `source`
        says where the page got it: typed (None), a followed MIDI clock or the Link
        session; a typed tempo is proposed to the Link session, as in any Link app."""
        if not TEMPO_MIN <= bpm <= TEMPO_MAX:
            raise EvodrumError(f"tempo is {TEMPO_MIN:g} to {TEMPO_MAX:g} BPM")
        if source not in TEMPO_SOURCES:
            raise EvodrumError(f"a tempo comes from {', '.join(map(str, TEMPO_SOURCES[1:]))} "
                               "or is typed")
        with self.lock:
            self.session.set_bpm(float(bpm))
            if self.link is not None and source != "link":
                self.link.propose(float(bpm))
            return self._changed()

    # --- Ableton Link ------------------------------------------------------------

    def link_view(self) -> dict:
        """Whether Link can be joined, and if joined, the session's tempo, peers and beat.
        Not behind the studio's lock (Link is thread-safe): a breeding under way does not
        hold up the page's polls, whose round trips time the beat."""
        from evodrum.studio import link
        joined = self.link
        if joined is None:
            return {"available": link.available(), "on": False}
        return {"available": True, **joined.view()}

    def set_link(self, on: bool) -> dict:
        """Join the Link session on this network (at the session's tempo, one bar a
        quantum), or leave it."""
        from evodrum.studio import link
        with self.lock:
            if on and self.link is None:
                if not link.available():
                    raise EvodrumError("Ableton Link needs the aalink package: pip install "
                                       "'evodrum[link]'")
                self.link = link.StudioLink(self.session.settings.bpm,
                                            self.session.spec.beats_per_bar)
            elif not on and self.link is not None:
                joined, self.link = self.link, None      # no poll reads it once closing
                joined.close()
        return self.link_view()

    def close(self) -> None:
        """Leave the Link session (when the studio stops)."""
        self.set_link(False)

    def set_adventure(self, adventure: float) -> dict:
        if not 0 < adventure <= 10:
            raise EvodrumError("adventure is a number above 0 and at most 10, e.g. 0.5")
        with self.lock:
            self.session.set_adventure(float(adventure))
            return self._changed()

    def vary_from(self, genotype: list[float] | None, grid: list | None,
                  parent: int | None) -> dict:
        """A new generation around a hand-made loop: a genotype (steered, blended) or an
        edited grid (cells toggled; it is encoded)."""
        with self.lock:
            edited = None if grid is None else self.grid_from_levels(grid)
            genes = None if genotype is None else self.genotype(genotype)
            if edited is None and genes is None:
                raise EvodrumError("vary from here needs the loop's genotype or its grid")
            if parent is not None and int(parent) not in self.session.loops:
                raise EvodrumError(f"there is no loop #{parent}")
            before = None
            if edited is not None:   # the loop before the hand edits: what they changed
                before = (self.decoding_space.decode(genes[None])[0] if genes is not None
                          else None if parent is None else self.loop(parent).grid)
            self._remember("vary from here")
            breeding.vary_from(self.session, self.space, None if edited is not None else genes,
                               edited, None if parent is None else int(parent), before)
            return self._changed()

    # --- decoding for the Steer view ---------------------------------------------

    def genotype(self, values) -> np.ndarray:
        """A genotype from the browser, checked: dim finite numbers, clipped to bounds."""
        try:
            g = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            g = np.zeros(0)
        if g.shape != (self.space.dim,) or not np.isfinite(g).all():
            raise EvodrumError(f"a genotype is {self.space.dim} finite numbers")
        return self.space.clip(g)

    def grid_from_levels(self, levels) -> np.ndarray:
        """A (9, S) grid of MIDI velocities 0..127 from the browser, checked."""
        try:
            arr = np.asarray(levels, dtype=np.float64)
        except (TypeError, ValueError):
            arr = np.zeros(0)
        if arr.shape != self.session.spec.shape:
            raise EvodrumError(f"a grid is {len(ROWS)} rows of {self.session.spec.steps} "
                               "velocities 0-127")
        if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > VELOCITY_LEVELS:
            raise EvodrumError("grid velocities are whole numbers from 0 to 127")
        return from_midi_velocity(np.rint(arr).astype(np.uint8))

    def decode(self, genotype, amounts: dict | None = None) -> dict:
        """The loop a genotype decodes to, after moving it along named directions (a move
        always changes the loop the asked way, or says it cannot: vae.directions.move)."""
        g = self.genotype(genotype)
        note = ""
        if amounts and any(_amount(v) for v in amounts.values()):
            g, note = self.steer(g, amounts)
        grid = quantize_velocity(self.decoding_space.decode(g[None]))[0]
        return {"grid": to_midi_velocity(grid).tolist(), "genotype": g.round(5).tolist(),
                "gain_db": self.gain(grid), "note": note}

    def steer(self, genotype: np.ndarray, amounts: dict) -> tuple[np.ndarray, str]:
        """The genotype moved by {direction name: amount} (in the model's latent units),
        and a note when the slider could not move this loop that way."""
        from vae.directions import move
        if self.directions is None:
            raise EvodrumError("this model has no attribute directions "
                               "(build them with `evodrum steer --build`)")
        try:
            moves = {str(k): float(v) for k, v in amounts.items()}
        except (TypeError, ValueError, OverflowError):
            raise EvodrumError("attribute amounts are numbers, e.g. {\"density\": 0.5}") from None
        if not all(np.isfinite(v) and abs(v) <= 4 for v in moves.values()):
            raise EvodrumError("attribute amounts lie within -4 and 4")
        moves = {k: v for k, v in moves.items() if v}
        std = np.asarray(self.space.representation.latent_std, np.float64)
        lock = self.session.lock
        moved = move(self.space.representation, genotype * std, moves,
                     None if lock is None else lock.apply)
        note = moved.note and (moved.note if lock is None else f"{moved.note} ({lock.describe()})")
        return self.space.clip(np.asarray(moved.code, np.float64) / std), note

    def encode(self, levels) -> dict:
        """An edited grid encoded, and what its genotype decodes to."""
        grid = self.grid_from_levels(levels)
        g = self.space.clip(self.space.encode(grid[None])[0])
        return self.decode(g)

    def palette(self, corner_ids: list[int], x: float, y: float) -> dict:
        """Beat Blender's pad: the bilinear blend of four corner loops' genotypes at
        (x, y) in [0, 1]^2 (corners: top-left, top-right, bottom-left, bottom-right)."""
        if len(corner_ids) != 4 or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in corner_ids):
            raise EvodrumError("the palette needs four corner loops (their ids)")
        if not (0 <= float(x) <= 1 and 0 <= float(y) <= 1):
            raise EvodrumError("palette positions lie within 0 and 1")
        with self.lock:
            missing = [i for i in corner_ids if int(i) not in self.session.loops]
            if missing:
                raise EvodrumError(f"there is no loop #{missing[0]}")
            g = np.stack([self.session.loops[int(i)].genotype for i in corner_ids])
        x, y = float(x), float(y)
        weights = np.array([(1 - x) * (1 - y), x * (1 - y), (1 - x) * y, x * y])
        return self.decode(weights @ g)

    # --- export ------------------------------------------------------------------

    def loop(self, loop_id: int) -> Loop:
        loop = self.session.loops.get(int(loop_id))
        if loop is None:
            raise EvodrumError(f"there is no loop #{loop_id}")
        return loop

    def note_map(self, key: str | None) -> notemap.NoteMap:
        """One of the maps the page offers (None: the studio's default)."""
        found = self.note_maps.get(key or self.default_map)
        if found is None:
            raise EvodrumError(f"no note map {key!r}: choose one of {', '.join(self.note_maps)}")
        return found

    def note_maps_view(self) -> dict:
        return {"default": self.default_map,
                "maps": [m.to_dict() for m in self.note_maps.values()]}

    def midi(self, loop_id: int, map_key: str | None = None) -> bytes:
        """The loop as MIDI at the session's tempo, at a note map's pitches."""
        with self.lock:
            loop = self.loop(loop_id)
            return self.midi_of(loop.grid, loop.id, map_key)

    def midi_of(self, grid: np.ndarray, key: int, map_key: str | None = None,
                keep_lock: bool = True) -> bytes:
        """Any loop as MIDI, played as the page plays it (feel, swing, the session's tempo);
        `keep_lock` False for a found loop (Target, Map): its hits as shown, whatever is
        locked now, as the page plays it (/api/played applies no lock either)."""
        with self.lock:
            return midi_bytes(self.heard(grid, key, keep_lock=keep_lock), self.session.spec,
                              self.session.settings.bpm, self.note_map(map_key))

    def found_midi(self, grid: np.ndarray, map_key: str | None = None) -> bytes:
        """A loop found earlier (a Target result, a Map cell) as MIDI, as the page plays
        it: the take keyed by its pattern (see `played_view`), no lock."""
        return self.midi_of(grid, loop_key(grid), map_key, keep_lock=False)

    def wav(self, loop_id: int, bpm: float | None = None) -> bytes:
        """The loop rendered by the built-in kit, one seamless pass, audition loudness."""
        from evodrum.audio.loudness import normalise
        with self.lock:
            loop = self.loop(loop_id)
            bpm = self.session.settings.bpm if bpm is None else float(bpm)
            if not TEMPO_MIN <= bpm <= TEMPO_MAX:
                raise EvodrumError(f"tempo is {TEMPO_MIN:g} to {TEMPO_MAX:g} BPM")
            heard = self.heard(loop.grid, loop.id, bpm)
        audio = synth.render(heard, self.session.spec, bpm, SAMPLE_RATE)
        return wav_bytes(normalise(audio, SAMPLE_RATE), SAMPLE_RATE)

    def favourites_zip(self, map_key: str | None = None) -> bytes:
        """Every favourite as MIDI (at a note map's pitches, as every MIDI download) and
        WAV, in one zip."""
        with self.lock:
            favourites = sorted(self.session.favourites(), key=lambda lp: lp.id)
        if not favourites:
            raise EvodrumError("no favourites yet: star a loop first")
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for lp in favourites:
                z.writestr(f"loop-{lp.id:03d}.mid", self.midi(lp.id, map_key))
                z.writestr(f"loop-{lp.id:03d}.wav", self.wav(lp.id))
        return out.getvalue()

    @staticmethod
    def kit_wav(row: str) -> bytes:
        """The built-in kit's one-shot for `row`, for the browser's sampler."""
        if row not in ROWS:
            raise EvodrumError(f"no drum {row!r}: the rows are {', '.join(ROWS)}")
        return wav_bytes(one_shots(SAMPLE_RATE)[ROWS.index(row)], SAMPLE_RATE)


def _amount(value) -> float:
    """A slider amount from a request: a finite number, else EvodrumError (a 400)."""
    if not isinstance(value, (int, float)):   # checks.number would show all of a long list
        raise EvodrumError(f"a slider amount is a number, got {value!r:.40}")
    return checks.number(value, "a slider amount")
