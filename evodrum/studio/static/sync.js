// evodrum studio: where the beat is. A timeline maps beats to performance.now()
// milliseconds; the engine (app.js) schedules every step, and every MIDI clock tick it
// sends, at its beat's time. Three timelines: the studio's own tempo, a DAW's MIDI
// clock followed through a Web MIDI input, and an Ableton Link session (which the
// server joins; the page polls it). Plain JS, no build step.
"use strict";

const PPQN = 24;             // MIDI clock ticks per quarter note
const FIT_TICKS = 48;        // the followed tempo is fitted over the last two beats of ticks
const SETTLED_TICKS = 24;    // a followed tempo is reported after a beat of steady ticks
const SLOWEST_TICK = 125;    // ms between ticks at 20 BPM: a longer gap is a pause, not a tempo

// The studio's own tempo: a straight line through (beat, ms); a new tempo bends it at a beat.
class OwnTimeline {
  constructor(bpm, beat, at) { this.bpm = bpm; this.beat = beat; this.at = at; }
  timeOf(beat) { return this.at + (beat - this.beat) * 60000 / this.bpm; }
  retempo(bpm, beat) { this.at = this.timeOf(beat); this.beat = beat; this.bpm = bpm; }
}

// Follows a DAW's MIDI clock on a Web MIDI input: 0xF8 ticks give the tempo (a
// least-squares line through the last FIT_TICKS tick times, so one late tick moves
// nothing), Start / Continue / Stop / Song Position drive playback. Ticks are timed by
// the event's timeStamp (when the browser received them), not when the page runs.
// `on` gets run(songTick) when Start or Continue says where the next tick is, stop(), and
// tempo(bpm) once a beat of steady ticks has come.
class ClockFollower {
  constructor(input, on) {
    this.kind = "clock"; this.input = input; this.on = on; this.name = input.name;
    this.running = false; this.position = 0;   // song position of the next tick, in ticks
    this.count = 0; this.ticks = [];            // [tick count, ms] since the last pause
    this.interval = null;                       // fitted ms per tick (kept across pauses)
    this.bpm = null; this.waiting = null;       // "start" / "continue" until the next tick
    // Ticks past the last one received that a step may be timed at: one, plus the feel's
    // earliest hit (the engine sets it). Chrome cannot take back a MIDI message once sent
    // (MIDIOutput.clear() is not implemented), so a step committed early would still play
    // after the DAW's Stop: committing a tick ahead keeps that to a Stop within a tick of it.
    this.ahead = 1;
    input.onmidimessage = (e) => this.receive(e.data, e.timeStamp || performance.now());
  }
  close() { this.input.onmidimessage = null; }
  receive(data, at) {
    switch (data[0]) {
      case 0xF8: this.tick(at); break;
      case 0xFA: this.position = 0; this.begin("start", at); break;
      case 0xFB: this.begin("continue", at); break;
      case 0xFC: this.running = false; this.waiting = null; this.on.stop(); break;
      case 0xF2: if (!this.running && data.length >= 3) this.position = ((data[2] << 7) | data[1]) * PPQN / 4; break;
    }
  }
  // Start or Continue: the next tick is song tick `position`. When the clock has been
  // running (as many DAWs send it while stopped), when that tick comes is known, and the
  // loop is timed from now; else from that tick, when it comes (late by its delivery).
  begin(kind, at) {
    this.running = true;
    const last = this.ticks.length ? this.ticks[this.ticks.length - 1][1] : null;
    if (last != null && this.interval && at - last < 2 * this.interval) {
      this.waiting = null;
      this.offset = this.position - (this.count + 1);
      this.on.run(this.position);
    } else { this.waiting = kind; this.pause(); }
  }
  // Forget tick times before a pause: the gap is no tick interval (the tempo stays).
  pause() { this.ticks = []; }
  tick(at) {
    const last = this.ticks.length ? this.ticks[this.ticks.length - 1][1] : null;
    if (last != null && at - last > Math.max(SLOWEST_TICK, 3 * (this.interval || 0))) this.pause();
    this.count += 1;
    this.ticks.push([this.count, at]);
    if (this.ticks.length > FIT_TICKS) this.ticks.shift();
    this.fit();
    if (!this.running) return;                  // a clock running while stopped: tempo only
    this.offset = this.position - this.count;   // song tick = tick count + offset
    this.position += 1;
    if (this.waiting) { this.waiting = null; this.on.run(this.position - 1); }
    else this.on.tick();
  }
  // The line through the recent ticks: its slope (ms per tick) once there are enough of
  // them, else the slope known from before; its intercept from these ticks alone.
  fit() {
    const n = this.ticks.length;
    if (n >= 2) {
      let mc = 0, mt = 0;
      for (const [c, t] of this.ticks) { mc += c / n; mt += t / n; }
      let cov = 0, vc = 0;
      for (const [c, t] of this.ticks) { cov += (c - mc) * (t - mt); vc += (c - mc) * (c - mc); }
      if (n >= 12 || !this.interval) this.interval = cov / vc;
      this.mean = [mc, mt];
    } else if (n === 1) this.mean = this.ticks[0];
    if (n >= SETTLED_TICKS) {
      this.bpm = 60000 / (PPQN * this.interval);
      this.on.tempo(this.bpm);
    }
  }
  // When song position `beat` falls (ms), or null when the clock cannot tell yet.
  timeOf(beat) {
    if (!this.running || this.waiting || !this.ticks.length || this.offset == null) return null;
    const count = beat * PPQN - this.offset, [c0, t0] = this.mean;
    const lastCount = this.ticks[this.ticks.length - 1][0];
    if (count > lastCount + this.ahead + 1e-9) return null;   // wait for the ticks before it
    if (!this.interval) return count <= lastCount ? this.ticks.find(([c]) => c >= count)[1] : null;
    return t0 + (count - c0) * this.interval;
  }
  describe() { return `following ${this.name}'s clock` + (this.bpm ? ` at ${this.bpm.toFixed(1)} BPM` : ""); }
}

// An Ableton Link session, joined by the server: the page polls /api/link and maps the
// server's clock onto its own by the quickest poll's round trip (the error is at most
// half of it), so it knows when each of the session's beats falls. With Link's Start
// Stop Sync, a peer that starts plays the cued loop from the next bar line; one that
// stops stops it (the loop stays cued). `on` gets tempo(bpm), update(), start(),
// stop() and lost(why).
class LinkFollower {
  constructor(on) {
    this.kind = "link"; this.on = on; this.samples = []; this.playing = null;
    this.bpm = null; this.peers = 0; this.quantum = 4;
    this.timer = setInterval(() => this.poll(), 200);
  }
  close() { clearInterval(this.timer); this.timer = null; }
  async poll() {
    if (this.busy) return;
    this.busy = true;
    try {
      const sent = performance.now();
      const r = await fetch("/api/link", { headers: { "X-Evodrum-Token": TOKEN } });
      const got = performance.now();
      const view = await r.json();
      if (!r.ok || !view.on) { this.on.lost(view.error || "the studio left the Link session"); return; }
      this.update(view, sent, got);
    } catch (e) { /* a missed poll: the next one comes */ }
    finally { this.busy = false; }
  }
  update(view, sent, got) {
    this.samples.push({ rtt: got - sent, offset: (sent + got) / 2 - view.at * 1000 });
    if (this.samples.length > 50) this.samples.shift();
    const best = this.samples.reduce((a, b) => (b.rtt < a.rtt ? b : a));
    this.anchor = [view.beat, view.at * 1000 + best.offset];
    this.quantum = view.quantum; this.peers = view.peers;
    // Start Stop Sync: a peer's start and stop (the first poll only learns the state)
    if (this.playing != null && view.playing !== this.playing) (view.playing ? this.on.start : this.on.stop)();
    this.playing = view.playing;
    const changed = this.bpm !== view.tempo;
    this.bpm = view.tempo;
    if (changed) this.on.tempo(this.bpm);
    else this.on.update();
  }
  timeOf(beat) { return this.anchor ? this.anchor[1] + (beat - this.anchor[0]) * 60000 / this.bpm : null; }
  beatAt(ms) { return this.anchor ? this.anchor[0] + (ms - this.anchor[1]) * this.bpm / 60000 : null; }
  // The session's first bar line (a multiple of the quantum, in beats) at or after `ms`.
  nextBar(ms) { const b = this.beatAt(ms); return b == null ? null : Math.ceil(b / this.quantum - 1e-9) * this.quantum; }
  describe() { return this.bpm ? `Link · ${this.peers} peer${this.peers === 1 ? "" : "s"} · ${+this.bpm.toFixed(2)} BPM` : "joining Link…"; }
}

// Sends MIDI clock for the engine: the ticks of each step it schedules, at their beats'
// times on its timeline, after Song Position and Start (or Continue) before the first.
class ClockSender {
  constructor(out) { this.out = out; this.running = false; this.lastAt = null; }
  // The ticks within timeline step `pos` (its beats pos/spb up to (pos+1)/spb); `played`
  // steps have played since playback started (the song position a DAW is given).
  step(timeline, pos, spb, played) {
    const first = Math.ceil(pos * PPQN / spb - 1e-9), end = Math.ceil((pos + 1) * PPQN / spb - 1e-9);
    if (!this.running) {
      const sixteenths = played * 4 / spb;
      if (!Number.isInteger(sixteenths) || first >= end) return;   // Song Position counts 16ths
      const at = timeline.timeOf(first / PPQN) - 1;
      this.out.send([0xF2, sixteenths & 0x7F, (sixteenths >> 7) & 0x7F], at);
      this.out.send([played ? 0xFB : 0xFA], at);
      this.running = true;
    }
    for (let k = first; k < end; k++) {
      this.lastAt = timeline.timeOf(k / PPQN);
      this.out.send([0xF8], this.lastAt);
    }
  }
  // Stop, after the last tick already handed to the output.
  stop() {
    if (!this.running) return;
    this.out.send([0xFC], Math.max(performance.now(), (this.lastAt || 0) + 0.5));
    this.running = false;
  }
}
