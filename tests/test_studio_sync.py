"""The studio beside a DAW, in a real browser: it follows the DAW's MIDI clock (tempo,
Start, Stop, Song Position and Continue) or sends its own, and a tempo that comes from
the clock becomes the session's (saved, exported).

Chromium here has no MIDI ports (the container has no ALSA sequencer), so the Web MIDI
API is a test double injected before the page loads: one output ("DAW in") that records
every message with its timestamp, and one input ("DAW out") fed by a DAW double that
sends clock as a DAW does. Each message it sends is delivered when its time comes, with
that time as the event's timeStamp (as Chrome stamps real MIDI input), and small random
jitter on the ticks.
"""
from __future__ import annotations

import json

import mido
import numpy as np
from test_studio_browser import Server, browser, open_page  # noqa: F401  (fixture)

from evodrum import notemap
from evodrum.interactive import store

WEB_MIDI_WITH_A_DAW = """
window.__midiSent = [];
const output = { id: "daw-1", name: "DAW in", type: "output", state: "connected",
  // `at`: the time the page asked for; `sent`: when it asked (a time already past is
  // sent at once, as Web MIDI does)
  send(data, at) { const now = performance.now();
    window.__midiSent.push({ data: Array.from(data), at: at || now, sent: now }); } };
const input = { id: "daw-clock", name: "DAW out", type: "input", state: "connected", onmidimessage: null };
window.__daw = {
  queue: [], song: [], delivered: {},
  // a message due at `at` (ms); `tag` names it in `delivered` (when the page got and
  // when it had handled it)
  send(at, data, tag) { this.queue.push([at, data, tag]); this.queue.sort((a, b) => a[0] - b[0]); },
  // `ticks` clock ticks at `bpm` from `from` (ms), each moved by up to `jitter` ms; while
  // the DAW plays, `songTick` is the song position of the first (`song`: [tick, ideal ms])
  clock(bpm, from, ticks, songTick, jitter) {
    const interval = 60000 / bpm / 24;
    for (let k = 0; k < ticks; k++) {
      const ideal = from + k * interval;
      this.send(ideal + (Math.random() * 2 - 1) * jitter, [0xF8], songTick === null ? null : String(songTick + k));
      if (songTick !== null) this.song.push([songTick + k, ideal]);
    }
    return from + ticks * interval;
  },
  deliver() {
    while (this.queue.length && this.queue[0][0] <= performance.now()) {
      const [at, data, tag] = this.queue.shift();
      const got = performance.now();
      if (input.onmidimessage) input.onmidimessage({ data: new Uint8Array(data), timeStamp: at });
      if (tag) this.delivered[tag] = [got, performance.now()];   // the page handled it then
    }
  },
};
setInterval(() => window.__daw.deliver(), 1);
navigator.requestMIDIAccess = async () => ({ outputs: new Map([[output.id, output]]),
  inputs: new Map([[input.id, input]]), onstatechange: null });
"""
BPM = 93.0
TICK_MS = 60000 / BPM / 24


def open_with_a_daw(browser, url):
    page = open_page(browser, url, WEB_MIDI_WITH_A_DAW)
    page.wait_for_selector("#follow option[value='clock:daw-clock']", state="attached")
    return page


def daw_plays(page, ticks: int, stop_tag: str, start_tag: str | None = None) -> float:
    """The DAW double's clock runs a beat while stopped, then Start just before the next
    tick (the downbeat, song position 0), `ticks` ticks, and Stop (tagged `stop_tag`)
    just after the last; returns when the tick after the last would be (page ms)."""
    return page.evaluate(f"""(() => {{         // at once, so none of it is in the past
        const t = __daw.clock({BPM}, performance.now() + 300, 24, null, 0.5);
        __daw.send(t - 3, [0xFA], {json.dumps(start_tag)});
        const end = __daw.clock({BPM}, t, {ticks}, 0, 0.5);
        __daw.send(end - {TICK_MS} + 3, [0xFC], '{stop_tag}');
        return end; }})()""")


def daw_heard(page, since: int = 0) -> tuple[dict, dict, list]:
    """What the DAW double played and heard: its clock ticks' ideal times by song
    position, when each labelled message was delivered, and the drum notes the page
    sent from its `since`-th message on."""
    ticks, delivered = dict(page.evaluate("__daw.song")), page.evaluate("__daw.delivered")
    notes = [m for m in page.evaluate("window.__midiSent")[since:] if m["data"][0] == 0x99]
    return ticks, delivered, notes


def expected_notes(grid: np.ndarray, steps, tick_times: dict, pitches) -> list:
    """(step, ms, pitch, velocity) of every hit of the loop's `steps` at their ticks'
    times (a step is 6 ticks), in time order, rows within a step top to bottom."""
    notes = []
    for step in steps:
        s = step % grid.shape[1]
        for r in np.nonzero(grid[:, s])[0]:
            notes.append((step, tick_times[6 * step], pitches[r], int(grid[r, s])))
    return notes


def check_timing(got: list, want: list, committed) -> list:
    """Each note's error (ms) from its tick, after checking that the notes are the
    loop's (pitches, velocities, order), none is early, and each is on its tick (within
    2 ms) unless the clock reached the page too late to time it: then the note was sent
    while the page handled the message it waited for (`committed(step)`: when the page
    got it and when it was done), as on a page a loaded machine stalls. A note timed by
    a timer instead of by the clock's messages would be sent outside them: that fails."""
    assert [(m["data"][1], m["data"][2]) for m in got] == [(p, v) for _, _, p, v in want]
    errors = []
    for m, (step, ideal, _, _) in zip(got, want):
        out = max(m["at"], m["sent"])                 # when the output sends it
        error = out - ideal
        assert error > -2.0, (step, error)
        handled = committed(step)
        assert error < 2.0 or handled[0] <= m["sent"] <= handled[1], (step, error, handled)
        errors.append(error)
    return errors


def test_the_studio_follows_a_daws_clock_start_stop_and_song_position(browser, tmp_path):
    """Follow "DAW out": a card clicked waits for the DAW's Start; the DAW's clock at 93
    BPM (the studio's was 120) plays it from its first step on the DAW's downbeat, every
    note on its tick (ticks jittered by up to 0.5 ms), at the DAW's tempo, which becomes
    the session's (saved, and the exported MIDI says 93). Stop stops it; a second's pause
    is not read as a tempo; Song Position bar 3 and Continue play the loop's third bar
    on the DAW's third bar; a loop clicked while the DAW plays starts on its next bar."""
    folder = tmp_path / "session"
    server = Server(folder, "--out", str(folder), "--seed", "7", "--bpm", "120", "--feel", "0")
    try:
        page = open_with_a_daw(browser, server.url)
        page.select_option("#midi-out", "daw-1")              # the DAW's drums sound
        page.select_option("#follow", "clock:daw-clock")
        page.wait_for_function("engine.follow && engine.follow.kind === 'clock'")
        assert page.is_disabled("#bpm")                       # the DAW sets the tempo
        page.locator(".card").nth(1).click()
        page.wait_for_function("engine.current && engine.current.id === S.loops[1].id")
        assert "waits for the DAW's Start" in page.inner_text("#now-playing")
        assert not page.evaluate("window.__midiSent.some(m => m.data[0] === 0x99)")
        grid = np.array(page.evaluate("S.loops[1].grid"))
        gm = notemap.load(None).pitches

        # the DAW: its clock runs while stopped (a beat), then Start just before a tick,
        # which is the downbeat; two bars play, then Stop just after the last tick
        end = daw_plays(page, 24 * 8, "stop", start_tag="start")
        page.wait_for_function("__daw.delivered.stop !== undefined")
        page.wait_for_function("engine.timer === null")        # stopped, the loop still cued
        assert page.evaluate("engine.current.id === S.loops[1].id")
        page.wait_for_function("S.bpm === 93")  # the DAW's tempo, the session's
        assert store.load(folder).settings.bpm == 93.0

        # the clock ran on through Start, so the downbeat was timed from Start; every
        # later step from the tick before it (a step is committed a tick ahead)
        ticks, delivered, got = daw_heard(page)
        want = expected_notes(grid, range(33), ticks | {192: end}, gm)
        # after Stop, at most the step whose tick was next: it was handed over already
        assert len(want) - int((grid[:, 32] > 0).sum()) <= len(got) <= len(want)
        errors = check_timing(got, want[:len(got)], lambda step: delivered[
            "start" if step == 0 else str(6 * step - 1)])

        # a second's silence (no clock), then Song Position bar 3 (32 sixteenths), Continue
        heard = len(page.evaluate("window.__midiSent"))
        end = page.evaluate(f"""(() => {{ const t = performance.now() + 1000;
            __daw.send(t - 4, [0xF2, 32, 0]); __daw.send(t - 3, [0xFB]);
            const end = __daw.clock({BPM}, t, 24 * 4, 32 * 6, 0.5);
            __daw.send(end - {TICK_MS} + 3, [0xFC], 'stop2');
            return end; }})()""")
        page.wait_for_function("__daw.delivered.stop2 !== undefined")
        page.wait_for_function("engine.timer === null")
        assert page.evaluate("S.bpm") == 93                    # the pause was no tempo
        ticks, delivered, got = daw_heard(page, heard)
        want = expected_notes(grid, range(32, 49), ticks | {288: end}, gm)   # the third bar
        assert len(want) - int((grid[:, 48] > 0).sum()) <= len(got) <= len(want)
        # the clock had stopped: the first step waits for its own tick (and is sent as
        # the page handles it); every later one is timed from the tick before it
        errors += check_timing(got, want[:len(got)], lambda step: delivered[
            str(6 * step - (step > 32))])
        print(f"notes on their ticks (within 2 ms): {np.mean(np.abs(errors) < 2.0):.0%}, "
              f"median error {np.median(np.abs(errors)):.2f} ms, largest {np.max(errors):.1f} ms")

        # the DAW plays again; in its second bar the studio is stopped (its own ■) and
        # another loop is clicked: that loop starts on the DAW's next bar line (bar 3, or
        # a later one if a loaded machine held the click back past it)
        page.evaluate("__daw.song = []; __daw.delivered = {}")
        daw_plays(page, 24 * 24, "stop3")
        page.wait_for_function("__daw.delivered['136'] !== undefined")
        page.click("#play-stop")
        assert page.evaluate("engine.timer") is None
        heard = len(page.evaluate("window.__midiSent"))
        before = page.evaluate("engine.follow.position")    # the DAW's song position, ticks
        page.locator(".card").nth(2).click()
        page.wait_for_function("engine.timer !== null")
        after = page.evaluate("engine.follow.position")
        page.wait_for_function("__daw.delivered.stop3 !== undefined")
        other = np.array(page.evaluate("S.loops[2].grid"))
        ticks, delivered, got = daw_heard(page, heard)
        bar = 24 * 4
        lines = range(-(-before // bar) * bar, -(-after // bar) * bar + 1, bar)
        first = 6 * int(np.nonzero(other.any(axis=0))[0][0])   # its first hit's tick in a bar
        line = min(lines, key=lambda b: abs(ticks.get(b + first, np.inf) - got[0]["at"]))
        assert 192 <= line <= 24 * 24 - bar, (before, after)  # a whole bar still to play
        want = expected_notes(other, range(16), {6 * k: ticks[line + 6 * k] for k in range(16)},
                              gm)                             # its first bar, on that bar line
        check_timing(got[:len(want)], want, lambda step: delivered[str(line + 6 * step - 1)])

        page.click('#tabs button[data-view="export"]')         # the export is at 93 BPM
        with page.expect_download() as info:
            page.locator("#export-table a", has_text="MIDI").first.click()
        path = tmp_path / "export.mid"
        info.value.save_as(path)
        tempos = [m.tempo for tr in mido.MidiFile(path).tracks for m in tr if m.type == "set_tempo"]
        assert [round(mido.tempo2bpm(x), 3) for x in tempos] == [93.0]
        page.reload()                                          # the follow choice is kept
        page.wait_for_function("engine.follow && engine.follow.kind === 'clock'")
        page.evaluate("midi.access.inputs.delete('daw-clock'); midi.access.onstatechange({})")
        page.wait_for_function("engine.follow === null")      # the DAW's MIDI out unplugged
        assert "DAW out's clock is gone" in page.inner_text("#status")
        assert not page.is_disabled("#bpm")
        assert not page.errors, page.errors
        page.close()
    finally:
        server.stop()


def test_the_studio_sends_midi_clock_with_its_notes(browser, tmp_path):
    """"send clock" on: playing sends Song Position 0 and Start before the first note,
    then 24 ticks a beat at the session's tempo, the first on the first note, six to a
    sixteenth; a new tempo spaces them anew from the next step; stopping sends Stop after
    the last tick."""
    folder = tmp_path / "session"
    server = Server(folder, "--out", str(folder), "--seed", "7", "--bpm", "93", "--feel", "0")
    try:
        page = open_with_a_daw(browser, server.url)
        assert page.is_disabled("#clock-out")                  # nothing to send it to yet
        page.select_option("#midi-out", "daw-1")
        page.check("#clock-out")
        page.locator(".card").nth(1).click()
        page.wait_for_function("window.__midiSent.filter(m => m.data[0] === 0xF8).length >= 96")
        page.fill("#bpm", "120")                                # a new tempo while playing
        page.press("#bpm", "Enter")
        page.wait_for_function("S.bpm === 120")
        # 48 ticks spaced at 120 (the steps already scheduled at 93 when the tempo came, a
        # loaded machine's look-ahead, still play at 93)
        page.wait_for_function("(() => { const t = window.__midiSent.filter(m => m.data[0] "
                               "=== 0xF8).map(m => m.at); let fast = 0; for (let i = 1; "
                               "i < t.length; i++) if (Math.abs(t[i] - t[i - 1] - "
                               f"{60000 / 120 / 24}) < 1e-6) fast++; return fast >= 48; }})()")
        page.click("#play-stop")
        sent = page.evaluate("window.__midiSent")
        kinds = [m["data"][0] for m in sent]
        assert sent[0]["data"] == [0xF2, 0, 0] and sent[1]["data"] == [0xFA]
        first_note = kinds.index(0x99)
        assert first_note > 1 and sent[1]["at"] < sent[first_note]["at"]   # Start comes first
        ticks = np.array([m["at"] for m in sent if m["data"][0] == 0xF8])
        assert abs(ticks[0] - sent[first_note]["at"]) < 1e-6      # the downbeat's tick
        # 24 a beat at 93 BPM, then (from one step on) at 120: one change, nothing between
        gaps = np.diff(ticks)
        slow = np.abs(gaps - 60000 / 93 / 24) < 1e-6
        fast = np.abs(gaps - 60000 / 120 / 24) < 1e-6
        assert (slow | fast).all(), gaps[~(slow | fast)]
        switch = int(np.argmax(fast))
        assert slow[:switch].all() and fast[switch:].all() and switch >= 95 and fast.sum() >= 47
        notes = np.array([m["at"] for m in sent if m["data"][0] == 0x99])
        assert (np.abs(notes[:, None] - ticks[None, :]).min(axis=1) < 1e-6).all()  # on ticks
        step_ticks = ticks[::6]                                  # six ticks to a sixteenth
        assert set(np.round(notes, 3)) <= set(np.round(step_ticks, 3))
        stop = next(m for m in sent if m["data"][0] == 0xFC)
        assert stop["at"] > ticks[-1] and kinds.count(0xFC) == 1
        assert not page.errors, page.errors
        page.close()
    finally:
        server.stop()

