"""Sync with a DAW, tested with real peers: a JACK server (`jackd -d dummy`, started
here; containers have no ALSA sequencer) carries MIDI between evodrum's port and a
second JACK client that plays the DAW (it records what evodrum sends, or sends its
clock); a second Ableton Link peer runs in another process on this machine.

Every wait is on a condition (messages counted, peers seen), never a sleep or a
wall-clock budget; timing is checked by counting clock ticks between notes and the
tempo within a tolerance.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid

import mido
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import require_real_part
from waiting import STUCK, read_line, wait_for

from evodrum.audio import ports
from evodrum.audio.midiport import MidiPortPlayer
from evodrum.audio.transport import PPQN, LinkSession
from evodrum.cli import main
from evodrum.grid import GridSpec
from evodrum.kit import ROWS
from evodrum.midi import ROW_PITCH

ONE_BAR = GridSpec(bars=1, beats_per_bar=4, steps_per_beat=4)
TWO_BARS = GridSpec(bars=2, beats_per_bar=4, steps_per_beat=4)
BD, SD, CH = (ROWS.index(r) for r in ("BD", "SD", "CH"))


@pytest.fixture(scope="module")
def jack(tmp_path_factory):
    """A JACK server of our own (dummy driver, no sound card), for this module's tests."""
    require_real_part(shutil.which("jackd") is not None, "JACK (apt install jackd2)")
    name = f"evodrum-test-{uuid.uuid4().hex[:8]}"
    log = tmp_path_factory.mktemp("jack") / "jackd.log"
    env = dict(os.environ, JACK_NO_AUDIO_RESERVATION="1")
    old = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    os.environ.update(JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1")

    def start(*mode):
        return subprocess.Popen(["jackd", *mode, "-n", name, "-d", "dummy", "-r", "48000",
                                 "-p", "512"], stdout=log.open("a"), stderr=subprocess.STDOUT,
                                env=env)

    def up():
        if server.poll() is not None:
            return None
        try:
            mido.Backend(ports.JACK).get_output_names()
            return True
        except Exception:
            return False
    # real-time scheduling keeps a loaded machine from making JACK drop MIDI (xruns);
    # where the container refuses it, the server runs without
    server = start()
    wait_for(lambda: up() is not False, "the JACK server")
    if server.poll() is not None:
        server = start("--no-realtime")
        wait_for(lambda: up() is not False, "the JACK server")
    if server.poll() is not None:
        raise AssertionError("jackd exited: " + log.read_text())
    yield name
    server.terminate()
    server.wait(STUCK)
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


class Daw:
    """The other app: a JACK client with a virtual input that records what evodrum
    sends (and, once it hears its own clock, the ticks it sends, in the order JACK
    delivered them) and a virtual output that sends clock."""

    def __init__(self, jack):
        import rtmidi
        backend = mido.Backend(ports.JACK)
        tag = uuid.uuid4().hex[:6]
        self.received: list[tuple[float, mido.Message]] = []
        self.ticks_sent = 0
        self.lock = threading.Lock()
        # rtmidi without a callback queues in C: a Python callback in JACK's process
        # thread would wait for the GIL and make JACK drop events under load
        self.inp = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, f"daw-{tag}")
        self.inp.ignore_types(sysex=True, timing=False, active_sense=True)
        self.inp.open_virtual_port(f"drums-{tag}")
        self.out = backend.open_output(f"clock-{tag}", virtual=True)
        self.in_name = next(n for n in backend.get_output_names() if n.endswith(f"drums-{tag}"))
        self.out_name = next(n for n in backend.get_input_names() if n.endswith(f"clock-{tag}"))
        self.closing = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        """Record each message with the time JACK delivered it: rtmidi stamps it in
        JACK's own thread, so a loaded machine delaying this thread does not move it."""
        at = 0.0
        while not self.closing.is_set():
            got = self.inp.get_message()
            if got is None:
                self.closing.wait(0.0005)
                continue
            at += got[1]                             # seconds since the previous message
            with self.lock:
                self.received.append((at, mido.Message.from_bytes(got[0])))

    def hear_own_clock(self):
        """Connect the clock output to the recording input too: each note then comes
        after the ticks JACK delivered before it, counted in JACK's order, however late a
        loaded machine runs this process's threads."""
        subprocess.run(["jack_connect", self.out_name, self.in_name], check=True, timeout=STUCK)

    def messages(self, kind=None):
        with self.lock:
            return [m for _, m in self.received if kind is None or m.type == kind]

    def close(self):
        self.closing.set()
        self.reader.join()
        self.inp.close_port()
        self.out.close()


@pytest.fixture
def daw(jack):
    d = Daw(jack)
    yield d
    d.close()


def groove(spec):
    """Kick on 1 and 3, snare on 2 and 4, eighth-note hats: 12 hits a bar."""
    grid = np.zeros(spec.shape, np.float32)
    for bar in range(spec.bars):
        b = bar * 16
        grid[BD, [b, b + 8]] = 1.0
        grid[SD, [b + 4, b + 12]] = 0.8
        grid[CH, list(range(b, b + 16, 2))] = 0.6
    return grid


def expected_notes(grid, bars_played):
    """(step counted from the start, pitch) of every note-on, in the order sent."""
    steps = grid.shape[1]
    return [(b * steps + s, int(ROW_PITCH[r])) for b in range(bars_played)
            for s in range(steps) for r in range(grid.shape[0]) if grid[r, s] > 0]


def clock_counts_at_notes(received):
    """For each note-on: how many clock ticks came before it."""
    ticks, out = 0, []
    for _, msg in received:
        if msg.type == "clock":
            ticks += 1
        elif msg.type == "note_on" and msg.velocity > 0:
            out.append((ticks, msg.note))
    return out


def test_midi_clock_out_with_start_song_position_and_stop(daw):
    """evodrum as the master: Song Position 0 and Start, then 24 clocks a beat with
    every note on its sixteenth's tick, and Stop when it stops."""
    player = MidiPortPlayer.open(daw.in_name, clock=True, bpm=150)
    assert "with MIDI clock" in player.description
    with player:
        player.play(groove(ONE_BAR), ONE_BAR, bpm=150)
        wait_for(lambda: len(daw.messages("clock")) >= 2 * 4 * PPQN + 1, "two bars of clock")
    wait_for(lambda: daw.messages("stop"), "Stop")
    kinds = [m.type for m in daw.messages()]
    assert kinds[:3] == ["songpos", "start", "clock"], kinds[:12]
    assert daw.messages("songpos")[0].pos == 0
    assert kinds.index("stop") > kinds.index("clock") and "start" not in kinds[2:]
    # every note on its tick: step s of the bar comes after exactly 6 s clocks
    grid_steps = {int(p): set(np.flatnonzero(groove(ONE_BAR)[r])) for r, p in
                  enumerate(ROW_PITCH) if groove(ONE_BAR)[r].any()}
    counts = clock_counts_at_notes(daw.received)
    assert len(counts) >= 24, (counts, [m.type for m in daw.messages()])  # 2 bars of 12 hits
    for ticks, note in counts:
        assert ticks % 6 == 1 and ((ticks - 1) // 6) % 16 in grid_steps[note], (ticks, note)
    assert bpm_of_clock(daw) == pytest.approx(150, rel=0.03)
    sounding = {m.note for m in daw.messages("note_on")} - {m.note for m in daw.messages("note_off")}
    assert not sounding


def bpm_of_clock(daw) -> float:
    """The tempo the received ticks say: the Theil-Sen slope of their times (the median
    of the rate between every two ticks). JACK delivers once a period and a loaded
    machine can hold a few ticks back; both move single intervals and the span's two
    ends, but few of the pairs, so the median stays on the tempo that was sent."""
    times = np.array([t for t, m in daw.received if m.type == "clock"])
    i, j = np.triu_indices(len(times), k=PPQN)          # pairs at least a beat apart
    seconds_per_tick = np.median((times[j] - times[i]) / (j - i))
    return 60 / (PPQN * seconds_per_tick)


def send_clock(daw, bpm, until, stop_event, every_beat=lambda: None):
    """The DAW's clock: Start, then ticks at `bpm` until `until()` or `stop_event`,
    calling `every_beat()` after each beat's 24th tick."""
    interval = 60 / bpm / PPQN
    daw.out.send(mido.Message("songpos", pos=0))
    daw.out.send(mido.Message("start"))
    next_tick = time.perf_counter()
    while not until() and not stop_event.is_set():
        daw.ticks_sent += 1
        daw.out.send(mido.Message("clock"))
        if daw.ticks_sent % PPQN == 0:
            every_beat()
        next_tick += interval
        stop_event.wait(max(0.0, next_tick - time.perf_counter()))


def test_following_the_daws_clock_start_tempo_and_stop(daw):
    """The DAW as the master at 100 BPM: evodrum waits for its Start, plays each note
    on the DAW's ticks, measures its tempo, goes silent on its Stop and starts again
    from bar 1 on the next Start."""
    done = threading.Event()
    player = MidiPortPlayer.open(daw.in_name, clock=True, clock_in=daw.out_name, bpm=120)
    assert "following MIDI clock" in player.description and not player.clock
    daw.hear_own_clock()
    try:
        player.play(groove(TWO_BARS), TWO_BARS, bpm=120)        # waits for the DAW's Start
        assert not daw.messages("note_on")
        target = 2 * 4 * PPQN + 6                                # two bars and a sixteenth
        # the tempo evodrum reads, once a beat from the second on (it averages a beat
        # of ticks); a loaded machine can hold the DAW's thread back and make it send a
        # few ticks in a burst, which moves the readings of the beats around it only
        readings = []
        sender = threading.Thread(target=send_clock, args=(
            daw, 100, lambda: daw.ticks_sent >= target, done,
            lambda: daw.ticks_sent > PPQN and readings.append(player.timebase.tempo())))
        sender.start()
        sender.join()
        expected = expected_notes(groove(TWO_BARS), 1) + [(32, 36), (32, 42)]
        wait_for(lambda: len(daw.messages("note_on")) >= len(expected), "two bars of notes")
        notes = clock_counts_at_notes(daw.received)
        assert [n for _, n in notes][:len(expected)] == [p for _, p in expected]
        for (ticks, _), (step, _) in zip(notes, expected):
            # never before its tick (6 a sixteenth), and late by less than a sixteenth
            # (counted in the ticks JACK delivered before it)
            assert 6 * step + 1 <= ticks <= 6 * step + 6, (ticks, step)
        assert len(readings) >= 6 and np.median(readings) == pytest.approx(100, rel=0.05), \
            readings

        daw.out.send(mido.Message("stop"))                       # the DAW stops
        wait_for(lambda: any(m.type == "control_change" and m.control == 123
                             for m in daw.messages()), "All Notes Off after Stop")
        heard = len(daw.messages("note_on"))
        for _ in range(12):                                      # clock runs on, stopped
            daw.out.send(mido.Message("clock"))
        daw.out.send(mido.Message("songpos", pos=0))
        daw.out.send(mido.Message("start"))                      # and starts again
        daw.out.send(mido.Message("clock"))
        wait_for(lambda: len(daw.messages("note_on")) > heard, "notes after the new Start")
        again = daw.messages("note_on")[heard:]
        assert {m.note for m in again} >= {36, 42}               # bar 1, step 1: kick + hat
    finally:
        done.set()
        player.close()
    assert player.timebase.starts == 2


def test_a_missing_port_is_one_line_listing_the_ports_there_are(daw):
    from evodrum.examples import path
    for option in ("--midi-port", "--clock-in"):
        args = ["--midi-port", daw.in_name, "--clock-in", "nowhere"] if option == "--clock-in" \
            else ["--midi-port", "nowhere"]
        result = CliRunner().invoke(main, ["play", str(path("rock")), "--once", *args])
        assert result.exit_code == 1
        line = result.output.strip().splitlines()[-1]
        assert line.startswith(f"error: {option}: no MIDI") and "nowhere" in line
        assert (daw.in_name if option == "--midi-port" else daw.out_name) in line


def test_link_without_a_midi_port_is_one_line(tmp_path):
    from evodrum.examples import path
    result = CliRunner().invoke(main, ["play", str(path("rock")), "--link", "--once"])
    assert result.exit_code == 1
    assert result.output.strip().startswith("error: --link needs --midi-port")


LINK_PEER = """
import asyncio, sys, aalink
async def main():
    link = aalink.Link(float(sys.argv[1]))
    link.quantum = 4
    link.enabled = True
    print("ready", flush=True)
    for line in sys.stdin:     # each line: report (peers, tempo, time, beat, time's error)
        if line.startswith("tempo"):
            link.tempo = float(line.split()[1])
        before, beat, after = link.time.total_seconds(), link.beat, link.time.total_seconds()
        print(link.num_peers, link.tempo, (before + after) / 2, beat, (after - before) / 2,
              flush=True)
        await asyncio.sleep(0)
asyncio.run(main())
"""


class LinkPeer:
    """A second Ableton Link peer (aalink) in another process: asked for its state."""

    def __init__(self, bpm):
        self.proc = subprocess.Popen([sys.executable, "-c", LINK_PEER, str(bpm)], text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert read_line(self.proc.stdout, "the Link peer to start").strip() == "ready"
        self.bpm = bpm
        self.age_a_second()

    def age_a_second(self):
        """Link's rule when two sessions meet: the one running longer wins, and two
        started within 0.5 s of each other are settled by their random ids. A DAW's
        session is old when evodrum joins; here, let the peer's run a second first."""
        start = self.ask()[3]
        wait_for(lambda: self.ask()[3] > start + self.bpm / 60, "the peer's session to run")

    def ask(self, line="state"):
        """(peers, tempo, Link time in s, the beat then, how far off that time may be)."""
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        state = read_line(self.proc.stdout, "the Link peer's state")
        peers, tempo, at, beat, error = state.split()
        return int(peers), float(tempo), float(at), float(beat), float(error)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(STUCK)


def beat_and_time(session: LinkSession) -> tuple[float, float, float]:
    """(Link time in s, the session's beat then, how far off that time may be): the beat
    read between two readings of Link's clock, so a thread held back between them (a
    loaded machine) widens the error instead of moving the beat."""
    before, beat, after = (session.link.time.total_seconds(), session.beat(),
                           session.link.time.total_seconds())
    return (before + after) / 2, beat, (after - before) / 2


def join_the_peers_session(link_peer, start, timebase_of):
    """`start()` evodrum's Link peer (`timebase_of(it)` is its LinkSession) and wait until
    the two are in one session; returns what `start()` made, in the peer's session.

    On a loaded machine a Link peer that hears nothing from the other for a while sees
    its session empty and founds a new one (Link's rule), younger than evodrum's: the
    two then settle in evodrum's session at 120 BPM. That is Link deciding, not evodrum
    taking over, so the meeting is tried again (3 times at most) from a peer whose
    session has run a second."""
    for attempt in range(3):
        made = start()
        session = timebase_of(made)
        wait_for(lambda: session.peers >= 1 and link_peer.ask()[0] >= 1,
                 lambda: f"the Link peer ({session.peers} peers, {link_peer.ask()[0]} at the peer)")
        tempo = wait_for(lambda: abs(session.tempo() - link_peer.ask()[1]) < 1e-3
                         and session.tempo(), "one tempo at both peers")
        if abs(tempo - link_peer.bpm) < 1e-3:
            return made
        made.close()                              # Link kept evodrum's session: again
        wait_for(lambda: link_peer.ask()[0] == 0, "evodrum to leave the session")
        link_peer.ask(f"tempo {link_peer.bpm}")
        link_peer.age_a_second()
    raise AssertionError(f"evodrum kept its own Link session at {tempo} BPM 3 times")


@pytest.fixture
def link_peer(own_network):
    """A second Link peer at 93 BPM, the test and it alone in a network of their own."""
    try:
        import aalink  # noqa: F401
        have = True
    except ImportError:
        have = False
    require_real_part(have, "aalink (pip install 'evodrum[link]')")
    peer = LinkPeer(93)
    yield peer
    peer.close()


def test_a_private_network_keeps_other_suites_link_sessions_out():
    """Link tests run in a network namespace of their own: the machine's loopback (where
    another suite's Link peers would be) cannot be reached from it, and is again after."""
    from network import own_network
    with socket.socket() as outside:
        outside.bind(("127.0.0.1", 0))
        outside.listen()
        port = outside.getsockname()[1]
        try:
            with own_network():
                assert [name for _, name in socket.if_nameindex()] == ["lo"]
                with pytest.raises(ConnectionRefusedError):
                    socket.create_connection(("127.0.0.1", port), timeout=30)
        except PermissionError as e:
            require_real_part(False, f"a private network (unshare needs root: {e})")
        socket.create_connection(("127.0.0.1", port), timeout=30).close()


def test_joining_a_link_session_takes_its_tempo_and_phase(link_peer):
    """evodrum joins at 120 BPM a session playing at 93: it takes 93, its beats fall
    in phase with the other peer's (within 0.02 beat, plus how far off the two readings'
    times may be), and a tempo evodrum proposes reaches the other peer."""
    session = join_the_peers_session(link_peer, lambda: LinkSession(120), lambda s: s)
    try:
        assert session.tempo() == pytest.approx(93, abs=1e-3)
        for _ in range(5):
            peers, tempo, at, beat, their_error = link_peer.ask()
            mine_at, mine, my_error = beat_and_time(session)
            theirs = beat + (mine_at - at) * tempo / 60          # their beat at our instant
            phase = (mine - theirs) % 4
            reading = (their_error + my_error) * tempo / 60     # in beats
            assert min(phase, 4 - phase) < 0.02 + reading, (mine, theirs, reading)
        session.set_tempo(101, session.beat())
        wait_for(lambda: abs(link_peer.ask()[1] - 101) < 1e-3, "the proposed tempo at the peer")
    finally:
        session.close()


def test_midi_port_player_in_a_link_session_starts_on_its_bar_line(link_peer, daw):
    """Played into a JACK port while in the peer's Link session: the first note is
    timed for the session's bar line (phase 0 of 4 beats), every note is sent at or after
    its beat and mostly within 0.05 beat of it (a loaded machine holds a few back), and
    the notes run at its 93 BPM."""
    player = join_the_peers_session(
        link_peer, lambda: MidiPortPlayer.open(daw.in_name, clock=True, link=True, bpm=120),
        lambda p: p.timebase)
    try:
        session = player.timebase
        assert session.tempo() == pytest.approx(93, abs=1e-3)
        beats_at_note, waited_for = [], []      # (the beat it was timed for, the beat sent)
        port_send, wait_until = player.port.send, session.wait_until

        def waiting(beat, stopping):
            waited_for.append(beat)
            return wait_until(beat, stopping)

        def noted(msg):
            if msg.type == "note_on":
                beats_at_note.append((waited_for[-1], session.beat()))
            port_send(msg)
        session.wait_until, player.port.send = waiting, noted
        player.play(groove(ONE_BAR), ONE_BAR, bpm=120)
        wait_for(lambda: len(beats_at_note) >= 20, "notes in the Link session")
    finally:
        player.close()
    timed, sent = np.array(beats_at_note).T
    assert timed[0] % 4 == 0                                   # on the session's bar line
    late = sent - timed
    assert (late > -1e-3).all() and np.median(late) < 0.05, late
    assert bpm_of_clock(daw) == pytest.approx(93, rel=0.03)    # the session's, not 120


def test_a_followed_clock_reads_no_tempo_from_a_pause_and_continues_where_it_stopped(
        monkeypatch):
    """Stop, a pause, Continue: the pause is not a tick interval (it read as 40 BPM at
    125), and the first tick after Continue moves on from the last one."""
    import mido
    from evodrum.audio import transport
    now = [0.0]
    monkeypatch.setattr(transport.time, "perf_counter", lambda: now[0])
    received = []

    class Port:
        def close(self):
            pass

    follower = transport.ClockFollower("a DAW", open_input=lambda name, callback: (
        received.append(callback), Port())[1])
    send = received[0]
    tick = 60 / (125 * transport.PPQN)

    def clocks(n):
        for _ in range(n):
            now[0] += tick
            send(mido.Message("clock"))

    send(mido.Message("start"))
    clocks(48)
    assert follower.tempo() == pytest.approx(125, rel=1e-6) and follower._ticks == 47
    send(mido.Message("stop"))
    now[0] += 1.0
    send(mido.Message("continue"))
    clocks(1)
    assert follower._ticks == 48
    clocks(2)
    assert follower.tempo() == pytest.approx(125, rel=1e-6)
    send(mido.Message("songpos", pos=4))               # a sixteenth is 6 ticks
    send(mido.Message("continue"))
    clocks(1)
    assert follower._ticks == 24
