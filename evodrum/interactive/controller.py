"""The session loop: read a line, run its commands, save, redraw.

Input is any iterable of lines (the terminal, a piped file, or a test's script),
so a whole session can be driven without a keyboard. Every command that changes
the session is followed by an atomic save of the session file, so Ctrl-C, a
crash or a killed terminal lose nothing that was rated. When the disk refuses
(full, read-only), the session carries on in memory, says it cannot save, and
tries again after every command; if it still cannot when the session ends, a
rescue copy goes to the system's temporary folder. Playing a loop replaces the
one playing, and a player that fails is reported with the play command that
started it; leaving the loop stops playback. `u` takes back the last change (a
rating, favourite, breeding, adventure or tempo), as the studio's Ctrl+Z does, and
the session is saved as undone.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from evodrum.audio import Player
from evodrum.audio.synth import AudioTooLong
from evodrum.errors import EvodrumError
from evodrum.genotypes import Space
from evodrum.interactive.breeding import breed
from evodrum.interactive.commands import Command, parse_line
from evodrum.interactive.saving import Saver
from evodrum.interactive.screen import Screen
from evodrum.interactive.session import History, Loop, Session
from evodrum.midi import write_midi
from evodrum.outpaths import Outputs

SAVED_DIR = "saved"
#: Commands that change the session in a way `u` takes back (playing, moving between
#: generations and saving files change nothing to take back).
UNDOABLE = ("rate", "favourite", "next", "adventure", "tempo")
PLURAL = ("variation", "blend", "seed")
#: How long a play press waits for the player to fail (a missing sound card, a busy
#: device) before saying it is playing; the sound itself starts at once.
PLAY_CHECK_SECONDS = 0.2
#: What makes a session's renders smaller, when one is too long to hold.
SMALLER = ("a faster tempo ('t BPM')", "a lower --sample-rate when the session starts")


class Controller:
    """Runs commands against a session, its player and its screen."""

    def __init__(self, session: Session, folder: Path, space: Space, player: Player,
                 screen: Screen, files_only: bool = False, performer=None, note_map=None):
        self.session, self.folder, self.space = session, Path(folder), space
        self.note_map = note_map     # pitches of the MIDI files it writes (None: General MIDI)
        self.player, self.screen, self.files_only = player, screen, files_only
        self.performer = performer  # evodrum.feel.Performer: how loops are played; None: straight
        self.saver = Saver(session, self.folder)
        self.history = History()     # what `u` can take back, newest last

    # --- the loop ----------------------------------------------------------

    def run(self, lines: Iterable[str], echo_input: bool = False) -> str:
        """Process lines until `q`, the end of input or Ctrl-C; returns which one.
        Whichever way the loop ends, playback stops and the session is saved."""
        try:
            self.start()
            for line in lines:
                if echo_input:
                    self.screen.echo(f"> {line.rstrip()}")
                if self.handle(line):
                    return "quit"
            return "end of input"
        except KeyboardInterrupt:
            return "interrupted"
        finally:
            self.player.stop()
            self.save()

    def start(self) -> None:
        """Show the generation on screen (and write its files with --no-audio)."""
        self.save()
        self.screen.show(self.session, self._generation_files() + self.saver.take_notes(),
                         redraw=True)
        self._prepare()

    def handle(self, line: str) -> bool:
        """Run every command on `line`; True when one of them was quit."""
        messages, view = [], {}
        try:
            commands = parse_line(line)
        except EvodrumError as e:
            commands = []
            messages.append(f"! {e}")
        for command in commands:
            if command.name == "quit":
                self.save()
                return True
            try:
                for key, wanted in self.execute(command, messages).items():
                    view[key] = view.get(key, False) or wanted
            except EvodrumError as e:
                messages.append(f"! {e}")
            self.save()
        self.screen.show(self.session, messages + self.saver.take_notes(), **view)
        return False

    def save(self) -> bool:
        """Save the session if it changed (see `Saver`); True when it is on disk."""
        return self.saver.save()

    def rescue(self) -> Path | None:
        return self.saver.rescue()

    @property
    def save_problem(self) -> str | None:
        return self.saver.problem

    def _prepare(self) -> None:
        """Let the player get the loops on screen ready before they are asked for."""
        s = self.session
        self.player.prefetch([self.heard(lp) for lp in s.shown()], s.spec, s.settings.bpm)

    def heard(self, loop: Loop):
        """A loop as it is played and written: with the session's feel (see Performer)."""
        if self.performer is None:
            return loop.grid
        return self.performer.play(loop.grid, loop.id, self.session.settings.bpm)

    # --- commands ----------------------------------------------------------

    def execute(self, command: Command, messages: list[str]) -> dict:
        """Run one command, appending what it did to `messages`; returns how to redraw.
        A change `u` can take back is remembered first (and forgotten if it fails)."""
        s = self.session
        pos = (s.position_of(command.loop_id) if command.loop_id is not None
               else s.selected if command.loop is None else command.loop)
        if command.name not in UNDOABLE:
            return self._run(command, pos, messages)
        self.history.remember(s, self._what(command.name, pos))
        try:
            return self._run(command, pos, messages)
        except BaseException:               # an error or Ctrl-C in the middle:
            self.history.undo(s)            # whatever it half did is taken back too
            raise

    def _run(self, command: Command, pos: int, messages: list[str]) -> dict:
        s, name = self.session, command.name
        if name in ("play", "replay"):
            messages.append(self._play(pos))
        elif name == "original":
            messages.append(self._play_original(pos))
        elif name == "rate":
            loop = s.rate(pos, command.value)
            verdict = "rating cleared" if loop.rating is None else f"rated {loop.rating}"
            messages.append(f"loop {pos + 1} (#{loop.id}) {verdict}")
        elif name == "favourite":
            loop = s.toggle_favourite(pos)
            kept = " (kept in every generation)" if s.settings.keep_favourites else ""
            messages.append(f"loop {pos + 1} (#{loop.id}) "
                            + (f"is a favourite{kept}" if loop.favourite else "is no longer a favourite"))
        elif name == "save":
            loop = s.loop_at(pos)
            # a file already there (saved before, perhaps edited since) is never replaced
            path = Outputs().derived(self.folder / SAVED_DIR / f"loop-{loop.id:03d}.mid")
            path = write_midi(path, self.heard(loop), s.spec, s.settings.bpm,
                              note_map=self.note_map)
            messages.append(f"loop {pos + 1} (#{loop.id}) saved as {path}")
        elif name == "stop":
            self.player.stop()
            messages.append("stopped")
        elif name == "adventure":
            s.set_adventure(command.value)
            messages.append(f"adventure {command.value:g}: variations move each gene by "
                            f"{command.value:g} prior standard deviations")
        elif name == "tempo":
            messages.extend(self._tempo(command.value))
        elif name in ("next", "back", "goto"):
            messages.extend(self._move(name, command))
            return {"redraw": True}
        elif name == "undo":
            messages.extend(self._undo())
            return {"redraw": True}
        return {"grids": name == "grids", "help": name == "help"}

    def _what(self, name: str, pos: int) -> str:
        """How a change is named when it is undone."""
        s = self.session
        if name in ("rate", "favourite"):
            loop = s.loop_at(pos)
            return f"{'rating' if name == 'rate' else 'favourite'} of loop {pos + 1} (#{loop.id})"
        if name == "next":
            return f"breeding generation {len(s.generations) + 1}"
        return {"adventure": f"adventure change (back to {s.settings.adventure:g})",
                "tempo": f"tempo change (back to {s.settings.bpm:g} BPM)"}[name]

    def _undo(self) -> list[str]:
        """Take back the last change; what was undone, and the files of the generation on
        screen when it changed (--no-audio)."""
        s = self.session
        shown, bpm = (s.current, list(s.generation().loop_ids)), s.settings.bpm
        what = self.history.undo(s)
        self.save()
        said = [f"undone: {what}"]
        moved = (s.current, list(s.generation().loop_ids)) != shown
        retempo = s.settings.bpm != bpm
        if moved:
            self.player.stop()
            said.append(f"generation {s.current + 1}")
        elif retempo:
            self._follow_tempo()
        self._prepare()
        return said + (self._generation_files() if moved or retempo else [])

    def _play(self, pos: int) -> str:
        loop = self.session.select(pos)
        return self._sound(self.heard(loop), self._file_name(pos), f"loop {pos + 1} (#{loop.id})")

    def _play_original(self, pos: int) -> str:
        loop = self.session.select(pos)
        if loop.original is None:
            raise EvodrumError(f"loop {pos + 1} (#{loop.id}) is not a seed loop: only loops "
                               "started from your files (--seed-loops) have an original")
        return self._sound(loop.as_written(self.session.spec), f"{self._file_name(pos)}-original",
                           f"{loop.source or 'your edit'} as written")

    def _sound(self, grid, name: str, what: str) -> str:
        """Play `grid`; a player that fails within PLAY_CHECK_SECONDS is reported now."""
        self._start(grid, what, name)
        if self.files_only:
            mid, wav = self.player.written[-2:]
            return f"{what}: {wav} and {mid.name}"
        try:
            ended = self.player.wait(PLAY_CHECK_SECONDS)
        except EvodrumError as e:
            raise EvodrumError(f"could not play {what}: {e}") from None
        if ended:
            raise EvodrumError(f"could not play {what}: {self.player.description} stopped at "
                               "once; try another --output, or --no-audio to write files")
        return f"playing {what} · {self.player.description}"

    def _start(self, grid, what: str, name: str | None = None) -> None:
        """Play `grid` (or write its files); a render too long to hold is one line
        naming `what` (the loop) and what would make it smaller."""
        s = self.session
        try:
            self.player.play(grid, s.spec, s.settings.bpm, name=name)
        except AudioTooLong as e:
            raise AudioTooLong.of(what, e, *SMALLER) from None

    def _tempo(self, bpm: float) -> list[str]:
        """Set the session's tempo; the loop playing follows (on the bar line)."""
        self.session.set_bpm(bpm)
        said = [f"tempo {bpm:g} BPM: playback and every export from now on"]
        self._follow_tempo()
        self._prepare()
        return said + self._generation_files()

    def _follow_tempo(self) -> None:
        """The loop playing goes on at the session's tempo (the player takes it over on
        the bar line); nothing is playing when files are written instead."""
        s = self.session
        if not self.files_only and self.player.is_playing:
            loop = s.loop_at(s.selected)
            self._start(self.heard(loop), f"loop {s.selected + 1} (#{loop.id})")

    def _move(self, name: str, command: Command) -> list[str]:
        """Breed the next generation or go to another one; playback stops."""
        s = self.session
        self.player.stop()
        if name == "next":
            unrated = not any(lp.rating is not None or lp.favourite for lp in s.shown())
            generation = breed(s, self.space)
            made = Counter(self._made_by(lp, generation.index) for lp in s.shown())
            parts = ", ".join(f"{n} {what}{'s' if n > 1 and what in PLURAL else ''}"
                              for what, n in made.items())
            messages = [(f"generation {generation.index + 1} bred from generation "
                         f"{generation.bred_from + 1}: {parts}")]
            if unrated:
                messages.append("no loop was rated, so every loop had the same chance to be "
                                "a parent: rate loops ('3 7') to steer the next one")
            children = made["variation"] + made["blend"]
            if made["blend"] < round(s.settings.blend * children):
                messages.append("only one loop to breed from, so no blends: rate two or more "
                                "loops above 0 to blend them")
        else:
            s.go_to(s.previous() if name == "back" else command.value)
            messages = [f"generation {s.current + 1}"]
        self.save()
        self._prepare()
        return messages + self._generation_files()

    @staticmethod
    def _made_by(loop: Loop, generation: int) -> str:
        return "kept" if loop.born != generation else {"prior": "new", "vary": "variation",
                                                       "blend": "blend", "seed": "seed",
                                                       "edit": "edited"}[loop.op]

    @staticmethod
    def _file_name(pos: int) -> str:
        """Files are named by screen position: the folder always holds what is on screen."""
        return f"loop{pos + 1}"

    def _generation_files(self) -> list[str]:
        """With --no-audio, every loop on screen is written as MIDI and WAV at once."""
        if not self.files_only:
            return []
        s = self.session
        first = len(self.player.written)
        for pos, loop in enumerate(s.shown()):
            self._start(self.heard(loop), f"loop {pos + 1} (#{loop.id})", self._file_name(pos))
        wavs = self.player.written[first + 1::2]
        return [(f"generation {s.current + 1} written as MIDI and WAV: "
                 f"{wavs[0]} ... {wavs[-1].name}")]
