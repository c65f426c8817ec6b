// evodrum studio: the page. Plain JS, no build step.
// State comes from the server (/api/state); audio is a WebAudio sampler of the
// built-in kit's one-shots, scheduled ahead on the audio clock (sample-accurate),
// so tempo, mute/solo and loop switches on the bar line happen in the browser.
"use strict";

// The server writes the token into the page; reading requests also carry its cookie.
const TOKEN = document.querySelector('meta[name="evodrum-token"]')?.content || "";
const $ = (sel) => document.querySelector(sel);
const el = (tag, props = {}, ...kids) => {
  const e = Object.assign(document.createElement(tag), props);
  for (const k of kids) e.append(k);
  return e;
};

let S = null;                 // the server's view of the session
let selectedId = null;        // loop shown in Listen / Steer
const timings = [];           // decode round trips (ms), for the meter

// --- talking to the server ------------------------------------------------------

async function api(path, body) {
  const opts = { headers: { "X-Evodrum-Token": TOKEN } };
  if (body !== undefined) {
    opts.method = "POST";
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  const data = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
  if (!r.ok) { say(data.error || `HTTP ${r.status}`, true); throw new Error(data.error); }
  return data;
}

function say(text, error = false) {
  const s = $("#status");
  s.textContent = text || "";
  s.className = error ? "error" : "";
}

// Downloads are plain links: the page's cookie authorises them (no token in any URL).
function download(path) { return path; }
// A MIDI file at the chosen note map's pitches (the same pitches Web MIDI sends): a
// loop's, or a Target result's or a Map cell's (played as heard: feel, swing).
function foundUrl(path) { return download(path) + (midi.map ? `?map=${encodeURIComponent(midi.map.key)}` : ""); }
const loopMidi = (id) => `/api/loop/${id}.mid`;
function midiUrl(id) { return foundUrl(loopMidi(id)); }
function midiName(id) { return `loop-${String(id).padStart(3, "0")}.mid`; }
// A MIDI download link for `path` at the chosen note map; relinkMidi moves every one drawn
// to a newly chosen map, without drawing anything again (a click landing then would be lost).
function midiLink(path, props) {
  const a = el("a", { href: foundUrl(path), ...props });
  a.dataset.midi = path;
  return a;
}
function relinkMidi() { document.querySelectorAll("a[data-midi]").forEach((a) => { a.href = foundUrl(a.dataset.midi); }); }

async function refresh(state) {
  S = state || await api("/api/state");
  if (!S.loops.some((l) => l.id === selectedId)) selectedId = S.loops[S.selected - 1].id;
  if (S.save_problem) say(`cannot save the session (${S.save_problem}): kept in memory, retrying after every change`, true);
  else if (S.notes && S.notes.length) say(S.notes.join(" · "));
  renderEvolve(); renderListen(); renderSteerChoices(); renderExport(); renderLock();
  updatePlaying();
}

const loopById = (id) => S.loops.find((l) => l.id === id);
const position = (id) => S.loops.findIndex((l) => l.id === id) + 1;

// --- drawing grids --------------------------------------------------------------

const ROW_COLOURS = ["#f2a33a", "#ff6b6b", "#4fc3a1", "#56b4e9", "#9d8df1", "#e6e26f", "#d08bd0", "#c9a27e", "#8fd18f"];

function drawGrid(canvas, grid, opts = {}) {
  const rows = grid.length, steps = grid[0].length, spec = S.spec;
  const cw = opts.cell || 7, ch = opts.rowHeight || 9, label = opts.labels ? 26 : 0;
  canvas.width = label + steps * cw; canvas.height = rows * ch;
  const g = canvas.getContext("2d");
  g.fillStyle = "#16191f"; g.fillRect(0, 0, canvas.width, canvas.height);
  for (let s = 0; s < steps; s++) {
    if (s % spec.steps_per_beat === 0) { g.fillStyle = s % (spec.steps_per_beat * spec.beats_per_bar) === 0 ? "#3a404c" : "#262b34"; g.fillRect(label + s * cw, 0, 1, canvas.height); }
  }
  const locked = S.locked && S.locked.mask;
  if (locked && opts.showLock) {   // locked cells: a faint frame, so the musician sees what stays
    g.fillStyle = "rgba(255,255,255,0.10)";
    for (let r = 0; r < rows; r++) for (let s = 0; s < steps; s++) if (locked[r][s]) g.fillRect(label + s * cw, r * ch, cw, ch);
  }
  for (let r = 0; r < rows; r++) {
    if (opts.labels) { g.fillStyle = opts.muted && opts.muted(r) ? "#555" : "#aab"; g.font = `${Math.min(ch - 2, 12)}px system-ui`; g.fillText(S.rows[r], 2, r * ch + ch - 3); }
    for (let s = 0; s < steps; s++) {
      const v = grid[r][s];
      if (!v) continue;
      g.globalAlpha = 0.35 + 0.65 * (v / 127);
      g.fillStyle = opts.muted && opts.muted(r) ? "#555" : ROW_COLOURS[r];
      g.fillRect(label + s * cw + 1, r * ch + 1, cw - 2, ch - 2);
    }
    g.globalAlpha = 1;
  }
  if (opts.playhead != null) {
    g.fillStyle = "rgba(255,255,255,0.25)";
    g.fillRect(label + opts.playhead * cw, 0, cw, canvas.height);
  }
  canvas.dataset.label = label; canvas.dataset.cw = cw; canvas.dataset.ch = ch;
}

// --- the audio engine -----------------------------------------------------------
// Steps are scheduled a little ahead on a timeline (sync.js: the studio's own tempo, a
// followed MIDI clock or a Link session), each at its beat's time, so following a DAW
// and playing alone are one code path; MIDI clock out sends each step's ticks with it.

const LOOKAHEAD = 0.12;      // seconds of steps scheduled ahead of the audio clock

class Engine {
  constructor() {
    this.ctx = null; this.buffers = []; this.current = null; this.pending = null;
    this.step = 0; this.pos = 0; this.played = 0; this.nextTime = 0; this.timer = null;
    this.mute = new Set(); this.solo = new Set();
    this.bpm = 120; this.normalise = true; this.stepTimes = [];
    this.feel = 1; this.swing = 50;   // the sliders: read at every scheduled step, so heard at once
    this.onsets = [];                 // [time, row, step, shift] of the hits scheduled last
    this.timeline = null;             // beats -> ms (sync.js)
    this.follow = null;               // a ClockFollower or LinkFollower; null: the own tempo
    this.clockOut = null;             // a ClockSender while MIDI clock is sent
  }
  async start() {
    if (this.ctx) return;
    this.ctx = new (window.AudioContext || window.webkitAudioContext)();
    this.limiter = this.ctx.createDynamicsCompressor();
    this.limiter.threshold.value = -3; this.limiter.ratio.value = 20; this.limiter.attack.value = 0.002;
    this.master = this.ctx.createGain(); this.master.gain.value = 0.8;
    this.master.connect(this.limiter).connect(this.ctx.destination);
    this.buffers = await Promise.all(S.rows.map(async (row) => {
      const r = await fetch(download(`/api/kit/${row}.wav`));
      return this.ctx.decodeAudioData(await r.arrayBuffer());
    }));
  }
  // audio clock <-> performance.now() milliseconds, anchored once per start so MIDI
  // timestamps are as steady as the audio clock itself
  anchor() {
    const ts = this.ctx.getOutputTimestamp ? this.ctx.getOutputTimestamp() : {};
    this.perfOffset = ts.performanceTime ? ts.performanceTime - ts.contextTime * 1000
      : performance.now() - this.ctx.currentTime * 1000;
  }
  toAudio(ms) { return (ms - this.perfOffset) / 1000; }
  toPerf(t) { return this.perfOffset + t * 1000; }
  audible(row) { return this.solo.size ? this.solo.has(row) : !this.mute.has(row); }
  // Play a loop: at once when stopped (on Link, at the session's next bar line; following
  // a clock, at the DAW's Start), else from its first step at the next bar line.
  async play(loop) {
    await this.start();
    if (this.ctx.state === "suspended") await this.ctx.resume();
    const cue = { id: loop.id, grid: loop.grid, feel: loop.feel || null, gain: Math.pow(10, (loop.gain_db || 0) / 20), label: loop.label, now: $("#switch").value === "now", loop };
    if (this.timer) { this.pending = cue; updatePlaying(); return; }
    this.current = cue;
    this.anchor();
    if (this.follow && this.follow.kind === "clock") {   // the DAW's next bar line, or its Start
      const f = this.follow;
      if (f.running && !f.waiting) {
        const bar = PPQN * S.spec.beats_per_bar;
        this.run(Math.ceil(f.position / bar) * bar * S.spec.steps_per_beat / PPQN, 0);
      } else updatePlaying();
      return;
    }
    const spb = S.spec.steps_per_beat, first = this.toPerf(this.ctx.currentTime + 0.05);
    if (this.follow) {                       // Link: the session's next bar line
      const bar = this.follow.nextBar(first);
      if (bar == null) { say("waiting for the Link session…"); updatePlaying(); return; }
      this.run(bar * spb, 0);
    } else {
      this.timeline = new OwnTimeline(this.bpm, 0, first);
      this.run(0, 0);
    }
  }
  // Schedule from timeline step `pos`, which is step `step` of the loop.
  run(pos, step) {
    this.pos = pos; this.step = step; this.played = 0; this.lastTime = -Infinity;
    clearInterval(this.timer);
    this.timer = setInterval(() => this.schedule(), 25);
    this.schedule();
    updatePlaying();
  }
  // Stop scheduling and cut what sounds; `keep` keeps the loop cued (a followed DAW stopped).
  halt(keep = false) {
    clearInterval(this.timer); this.timer = null;
    if (!keep) this.current = null;
    this.pending = null;
    if (this.clockOut) this.clockOut.stop();
    midiSilence(midi.out);
    if (this.ctx) { this.master.disconnect(); this.master = this.ctx.createGain(); this.master.gain.value = 0.8; this.master.connect(this.limiter); }
    this.stepTimes = [];
    updatePlaying();
  }
  stop() { this.halt(false); }
  // The own tempo changes at the next step not yet scheduled (a followed one is the DAW's).
  setTempo(bpm) {
    if (this.follow) return;
    if (this.timeline && this.timer) this.timeline.retempo(bpm, this.pos / S.spec.steps_per_beat);
    this.bpm = bpm;
  }
  // Follow a DAW's clock or a Link session (null: the own tempo). What played is cued again:
  // at the DAW's Start, or on Link's next bar line.
  setFollow(follow) {
    const cue = this.current, playing = !!this.timer;
    if (this.follow) this.follow.close();
    this.halt(!!cue);
    this.follow = follow; this.timeline = follow;
    if (follow && follow.bpm) this.bpm = follow.bpm;
    if (!follow) this.bpm = S.bpm;
    if (cue && playing && (!follow || follow.kind === "link")) this.play(cue.loop);
    updatePlaying();
  }
  // A followed clock's first tick after Start or Continue (song position in ticks): the
  // cued loop plays from there, in step with the DAW's bars (its first bar on the DAW's
  // first, fifth, ... for a four-bar loop).
  followRun(songTick) {
    if (!this.current || !this.ctx) return;
    this.anchor();
    const spb = S.spec.steps_per_beat, pos = Math.ceil(songTick * spb / PPQN - 1e-9);
    this.run(pos, pos % this.current.grid[0].length);
  }
  stepSeconds() { return 60 / this.bpm / S.spec.steps_per_beat; }
  // Where a hit of step s is played and how loud: the loop's own velocity and the grid,
  // moved `feel` of the way to the model's take (its velocity and timing offset), plus
  // MPC swing on the second step of each pair (as evodrum.feel performs it for files).
  performed(r, s) {
    const v = this.current.grid[r][s], take = this.current.feel;
    let level = v, offset = 0;
    if (take && take.grid[r][s]) {
      level = Math.max(1, Math.round((1 - this.feel) * v + this.feel * take.grid[r][s]));
      offset = this.feel * take.offsets[r][s];
    }
    if (S.spec.steps_per_beat % 2 === 0 && s % 2 === 1) offset += this.swing / 50 - 1;
    return [level, Math.min(offset, 0.4999) * this.stepSeconds()];
  }
  // Web MIDI: a note on channel 10 at the audio clock's time plus its feel (as a
  // performance.now() timestamp, so the browser sends it on time), off a step later.
  sendNote(row, velocity, shift) {
    const pitch = midi.map.pitches[S.rows[row]];
    const at = this.toPerf(this.nextTime + shift);
    midi.out.send([0x99, pitch, velocity], at);   // a time already past: sent at once
    midi.out.send([0x89, pitch, 0], at + this.stepSeconds() * 1000 * 0.9);
  }
  schedule() {
    if (!this.timer || !this.current) return;
    const spb = S.spec.steps_per_beat, bar = spb * S.spec.beats_per_bar;
    // look ahead by half a step more, so a hit played early is still scheduled in time
    const horizon = this.ctx.currentTime + LOOKAHEAD + this.stepSeconds() / 2;
    if (this.follow && this.follow.kind === "clock") {   // commit a tick ahead, and the feel's earliest hit
      const early = Math.max(earliest(this.current), this.pending ? earliest(this.pending) : 0) * this.feel;
      this.follow.ahead = 1 + Math.ceil(early * PPQN / spb - 1e-9);
    }
    for (;;) {
      const ms = this.timeline.timeOf(this.pos / spb);
      if (ms == null) break;                           // a followed clock has not come this far
      const at = Math.max(this.toAudio(ms), this.lastTime + 1e-4);
      if (at >= horizon) break;
      this.nextTime = this.lastTime = at;
      if (this.pending && this.step % bar === 0) {   // the bar line: switch loops here
        this.current = this.pending; this.pending = null; this.switchedAt = this.played; this.step = 0; updatePlaying();
      } else if (this.pending && this.pending.now) {  // "switch now": next step, same beat
        this.current = this.pending; this.pending = null; this.switchedAt = this.played; updatePlaying();
      }
      if (this.clockOut) this.clockOut.step(this.timeline, this.pos, spb, this.played);
      const steps = this.current.grid[0].length;
      const s = this.step % steps;
      for (let r = 0; r < this.current.grid.length; r++) {
        if (!this.current.grid[r][s] || !this.audible(r)) continue;
        const [v, shift] = this.performed(r, s);
        if (midi.out) { this.sendNote(r, v, shift); continue; }
        const src = this.ctx.createBufferSource(), amp = this.ctx.createGain();
        src.buffer = this.buffers[r];
        amp.gain.value = (v / 127) * (v / 127) * (this.normalise ? this.current.gain : 1);
        src.connect(amp).connect(this.master);
        src.start(Math.max(this.nextTime + shift, this.ctx.currentTime));
        this.onsets.push([this.nextTime + shift, r, s, shift]);
        if (this.onsets.length > 256) this.onsets.shift();
      }
      this.stepTimes.push([this.nextTime, s, this.current.id]);
      if (this.stepTimes.length > 64) this.stepTimes.shift();
      this.pos += 1; this.step += 1; this.played += 1;
    }
  }
  // The step sounding now, for the playhead.
  playhead() {
    if (!this.ctx || !this.timer) return null;
    const now = this.ctx.currentTime;
    let found = null;
    for (const t of this.stepTimes) if (t[0] <= now) found = t;
    return found;
  }
  // A steered or edited loop replaces the playing one's pattern at once.
  replaceGrid(id, grid, gainDb) {
    if (this.current && this.current.id === id) { this.current.grid = grid; this.current.gain = Math.pow(10, (gainDb || 0) / 20); }
  }
}
const engine = new Engine();

// How early a cue's take plays its earliest hit, in steps (0 when none is early).
function earliest(cue) {
  if (!cue.feel) return 0;
  if (cue.early == null) {
    cue.early = 0;
    cue.grid.forEach((row, r) => row.forEach((v, s) => { if (v) cue.early = Math.max(cue.early, -cue.feel.offsets[r][s]); }));
  }
  return cue.early;
}

// What a cue is called now: a session loop by its position on screen (or its generation
// once it has left the screen), a Target or Map loop by its own label.
function cueLabel(cue) {
  if (typeof cue.id !== "number") return cue.label;
  const p = position(cue.id);
  if (p) return `${p} (#${cue.id})`;
  const h = (S.history || []).find((x) => x.id === cue.id);
  return `#${cue.id}` + (h ? ` (generation ${h.generation})` : "");
}

function updatePlaying() {
  const c = engine.current;
  $("#play-stop").textContent = engine.timer ? "■" : "▶";
  const f = engine.follow;
  const state = !c ? "stopped" : !engine.timer ? `${cueLabel(c)} waits for ${f && f.kind === "clock" ? "the DAW's Start" : f && f.playing === false ? "the Link session to start" : "the session's bar line"}` : `playing ${cueLabel(c)}`;
  $("#now-playing").textContent = state + (engine.pending ? ` → ${cueLabel(engine.pending)} ${engine.pending.now ? "now" : "on the bar"}` : "") + (midi.out ? ` · MIDI to ${midi.out.name}` + (engine.clockOut ? " with clock" : "") : "") + (f ? ` · ${f.describe()}` : "");
  document.querySelectorAll(".card").forEach((card) => card.classList.toggle("playing", !!c && Number(card.dataset.id) === c.id));
}

function audition(loop) {
  selectedId = loop.id;
  engine.play(loop);
  api("/api/select", { id: loop.id }).then((st) => { S = st; }).catch(() => {});
  document.querySelectorAll(".card").forEach((card) => card.classList.toggle("selected", Number(card.dataset.id) === loop.id));
  renderListen(); renderSteerChoices();
}

function animate() {
  const p = engine.playhead();
  document.querySelectorAll("canvas[data-loop]").forEach((cv) => {
    const on = p && String(p[2]) === cv.dataset.loop ? p[1] : null;   // ids: 12, "t0", "atlas"
    if (cv._head !== on) { cv._head = on; cv._draw(on); }
  });
  requestAnimationFrame(animate);
}

// --- Evolve ---------------------------------------------------------------------

function lineage(loop) {
  if (loop.kept) return `kept from generation ${loop.born}` + (loop.rating != null ? `, rated ${loop.rating}` : "");
  if (loop.op === "seed") return `your ${loop.source}, as the model hears it (${Math.round(100 * loop.changed_onsets)}% of hits differ)`;
  if (loop.op === "prior") return "new from the prior";
  const from = loop.parents.map((p) => p.position ? `${p.position} (#${p.id})` : `#${p.id}`).join(" and ");
  const gen = S.bred_from ? ` of generation ${S.bred_from}` : "";
  if (loop.op === "blend") return `blend of ${from}${gen}`;
  if (loop.op === "vary") return `variation of ${from}${gen}`;
  if (loop.op === "edit") return `made by hand from ${from || "the palette"}` + (loop.changed_onsets != null ? ` · your edited cells kept, the model filled the rest: ${Math.round(100 * loop.changed_onsets)}% of hits differ from your edit` : "");
  return loop.about;
}

function stars(loop) {
  const box = el("div", { className: "stars", title: "rating: ✕ = 0 dislike, 1-9 stars (9 also keeps it)" });
  const zero = el("button", { textContent: "✕", className: "zero" + (loop.rating === 0 ? " lit" : "") });
  zero.dataset.rating = 0;
  box.append(zero);
  for (let r = 1; r <= S.rating_max; r++) {
    const b = el("button", { textContent: "★", className: loop.rating != null && loop.rating >= r && loop.rating > 0 ? "lit" : "" });
    b.dataset.rating = r;
    box.append(b);
  }
  box.addEventListener("click", (e) => {
    e.stopPropagation();
    const r = e.target.dataset.rating;
    if (r === undefined) return;
    rate(loop.id, Number(r) === loop.rating ? null : Number(r));
  });
  return box;
}

async function rate(id, rating) {
  await refresh(await api("/api/rate", { id, rating }));
  say(rating == null ? `#${id}: rating cleared` : `#${id} rated ${rating}`);
}

async function favourite(id) { await refresh(await api("/api/favourite", { id })); }

function renderEvolve() {
  $("#gen-title").textContent = `Generation ${S.generation} of ${S.generations}` + (S.bred_from ? ` (bred from ${S.bred_from})` : "") + ` · ${S.space} space`;
  $("#back").disabled = !S.bred_from;
  $("#next").textContent = S.is_last ? "breed next generation ▶" : "branch: breed from here ▶";
  const go = $("#goto"); go.innerHTML = "";
  for (const t of S.tree) go.append(el("option", { value: t.generation, textContent: `gen ${t.generation}` + (t.bred_from ? ` ← ${t.bred_from}` : ""), selected: t.generation === S.generation }));
  $("#adventure").value = S.adventure; $("#adventure-out").textContent = S.adventure;
  engine.setTempo(S.bpm);                   // the session's one tempo, saved with it
  showFeel();
  if (document.activeElement !== $("#bpm")) $("#bpm").value = S.bpm;
  const legend = $("#legend"); legend.innerHTML = "rows, top to bottom: ";
  S.rows.forEach((row, r) => legend.append(el("span", { textContent: row, style: `color:${ROW_COLOURS[r]}` })));
  const box = $("#population"); box.innerHTML = "";
  S.loops.forEach((loop, i) => {
    const cv = el("canvas"); cv.dataset.loop = loop.id;
    cv._draw = (head) => drawGrid(cv, loop.grid, { playhead: head, cell: cardCell(loop.grid[0].length), rowHeight: 11 });
    cv._draw(null);
    const fav = el("button", { className: "fav" + (loop.favourite ? " on" : ""), textContent: "♥", title: "favourite (f): kept in every generation" });
    fav.addEventListener("click", (e) => { e.stopPropagation(); favourite(loop.id); });
    const card = el("div", { className: "card" + (loop.id === selectedId ? " selected" : "") },
      el("div", { className: "top" }, el("span", {}, el("span", { className: "num", textContent: `${i + 1}` }), el("span", { className: "id", textContent: `  #${loop.id}` })), stars(loop), fav),
      cv, el("div", { className: "lineage", textContent: lineage(loop) }));
    card.dataset.id = loop.id;
    const save = midiLink(loopMidi(loop.id), { className: "mid", download: midiName(loop.id), textContent: "⇩ .mid", title: "download, or drag the card into your DAW or a folder" });
    save.addEventListener("click", (e) => e.stopPropagation());
    card.querySelector(".top").append(save);
    card.draggable = true;                    // drag out: the DAW or folder gets loop-NNN.mid
    card.addEventListener("dragstart", (e) => dragMidi(e, midiUrl(loop.id), midiName(loop.id)));
    card.addEventListener("click", () => audition(loop));
    box.append(card);
  });
  updatePlaying();
}

// Cells drawn about as wide as the card shows them (at least 5 px; the canvas is then
// stretched to the card's width), so a loop reads at any window size.
function cardCell(steps) {
  const box = $("#population"), cols = getComputedStyle(box).gridTemplateColumns.split(" ").length || 1;
  const width = (box.clientWidth - 10 * (cols - 1)) / cols - 24;
  return Math.max(5, Math.round(width / steps));
}

// Chromium's DownloadURL drag: dropped on the desktop, a folder or a DAW's track
// area, the browser saves the loop's MIDI file under its name; uri-list for the rest.
function dragMidi(e, path, name) {
  const url = new URL(path, location.href).href;
  e.dataTransfer.effectAllowed = "copy";
  e.dataTransfer.setData("DownloadURL", `audio/midi:${name}:${url}`);
  e.dataTransfer.setData("text/uri-list", url);
  e.dataTransfer.setData("text/plain", url);
}

$("#next").addEventListener("click", async () => { say("breeding…"); await refresh(await api("/api/next", {})); say(`generation ${S.generation} bred from ${S.bred_from}`); });
$("#back").addEventListener("click", async () => refresh(await api("/api/back", {})));
$("#goto").addEventListener("change", async (e) => refresh(await api("/api/goto", { generation: Number(e.target.value) })));
// --- feel and swing: heard at once (the engine reads them at every step), and sent to
// the server, so MIDI and WAV exports play what you hear.
// A page state that left the server before the sliders' last move reached it would
// put them back: while a move is on its way, the sliders keep what the musician set.
let feelMoves = 0;
function showFeel() {
  if (feelMoves) return;
  engine.feel = S.feel; engine.swing = S.swing;
  $("#feel").value = S.feel; $("#feel-out").textContent = S.has_feel ? Number(S.feel).toFixed(2) : "off";
  $("#feel").disabled = !S.has_feel;
  $("#swing").value = S.swing; $("#swing-out").textContent = `${S.swing}%`;
}
for (const id of ["feel", "swing"]) {
  $(`#${id}`).addEventListener("input", (e) => {
    engine[id] = Number(e.target.value);
    $(`#${id}-out`).textContent = id === "feel" ? Number(e.target.value).toFixed(2) : `${e.target.value}%`;
  });
  $(`#${id}`).addEventListener("change", async () => {
    feelMoves += 1;
    let state = null;
    try { state = await api("/api/feel", { feel: Number($("#feel").value), swing: Number($("#swing").value) }); }
    catch (err) { say(err.message, true); }
    feelMoves -= 1;
    if (state && !feelMoves) await refresh(state);   // the last move's answer is the sliders'
  });
}
$("#adventure").addEventListener("change", async (e) => refresh(await api("/api/adventure", { adventure: Number(e.target.value) })));
$("#adventure").addEventListener("input", (e) => { $("#adventure-out").textContent = e.target.value; });

// --- transport and keys ---------------------------------------------------------

$("#play-stop").addEventListener("click", () => engine.timer ? engine.stop() : audition(loopById(selectedId)));
$("#bpm").addEventListener("change", async (e) => {
  if (engine.follow && engine.follow.kind === "clock") {   // the field is disabled then; a script may still try
    e.target.value = S.bpm; say("the tempo follows the DAW's clock: change it in the DAW", true); return;
  }
  try { await refresh(await api("/api/tempo", { bpm: Number(e.target.value) })); }
  catch (err) { e.target.value = S.bpm; return; }        // the error is on the status line
  say(`tempo ${S.bpm} BPM: playback and every export` + (engine.follow ? " (proposed to the Link session)" : ""));
});

// Loop numbers: a digit plays that loop; a second digit within a moment makes it two-digit
// (1 then 2 = loop 12), so every loop of a 16-loop generation has its keys; ← → step.
let firstDigit = null;
function playNumber(d) {
  const now = performance.now();
  let n = d;
  if (firstDigit && now - firstDigit.at < 800 && firstDigit.n * 10 + d <= S.loops.length) n = firstDigit.n * 10 + d;
  firstDigit = n < 10 && n * 10 < S.loops.length ? { n, at: now } : null;
  const loop = S.loops[(n === 0 ? 10 : n) - 1];
  if (loop) audition(loop);
}

document.addEventListener("keydown", (e) => {
  if (e.target.tagName === "INPUT" || e.target.tagName === "SELECT") return;
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") { e.preventDefault(); undo(); return; }
  const digit = /^Digit(\d)$/.exec(e.code);
  if (digit && e.shiftKey) { rate(selectedId, Number(digit[1])); e.preventDefault(); return; }
  if (digit && !e.ctrlKey && !e.metaKey && !e.altKey) { playNumber(Number(digit[1])); return; }
  if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
    const p = position(selectedId) + (e.key === "ArrowRight" ? 1 : -1);
    if (p >= 1 && p <= S.loops.length) audition(S.loops[p - 1]);
    e.preventDefault();
    return;
  }
  if (e.key === " ") { e.preventDefault(); $("#play-stop").click(); }
  else if (e.key === "f") favourite(selectedId);
  else if (e.key === "n") $("#next").click();
  else if (e.key === "b") $("#back").click();
  else if (e.key === "a" && $("#listen").classList.contains("on")) abSwitch();
});

// Ctrl+Z: a cell toggled in Steer first (in the page), else the session's last change.
async function undo() {
  if ($("#steer").classList.contains("on") && steer && steer.toggles && steer.toggles.length) {
    const [r, s, v] = steer.toggles.pop();
    steer.grid[r][s] = v; steer.edits += 1; steer.edited = steer.toggles.length > 0;
    engine.replaceGrid(steer.parent, steer.grid, steer.gain);
    drawSteer(); say(`undone: cell ${S.rows[r]} step ${s + 1}`);
    return;
  }
  const what = S.undo;
  await refresh(await api("/api/undo", {}));
  say(`undone: ${what}`);
}

document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => {
  document.querySelectorAll("#tabs button").forEach((x) => x.classList.toggle("on", x === b));
  document.querySelectorAll(".view").forEach((v) => v.classList.toggle("on", v.id === b.dataset.view));
  if (b.dataset.view === "steer") loadSteer(loopById(selectedId));
  if (b.dataset.view === "target") renderGoals();
  if (b.dataset.view === "map") renderMapChoices();
}));

// --- Listen ---------------------------------------------------------------------

let abSide = "A";
function renderListen() {
  for (const [sel, def] of [["#a-loop", 0], ["#b-loop", 1]]) {
    const s = $(sel), keep = Number(s.value);
    s.innerHTML = "";
    S.loops.forEach((l, i) => s.append(el("option", { value: l.id, textContent: `${i + 1} (#${l.id})` })));
    s.value = S.loops.some((l) => l.id === keep) ? keep : S.loops[Math.min(def, S.loops.length - 1)].id;
  }
  const mixer = $("#mixer"); mixer.innerHTML = "";
  S.rows.forEach((row, r) => {
    const m = el("button", { textContent: "M", className: "m" + (engine.mute.has(r) ? " on" : ""), title: `mute ${row}` });
    const so = el("button", { textContent: "S", className: "s" + (engine.solo.has(r) ? " on" : ""), title: `solo ${row}` });
    m.addEventListener("click", () => { engine.mute.has(r) ? engine.mute.delete(r) : engine.mute.add(r); renderListen(); });
    so.addEventListener("click", () => { engine.solo.has(r) ? engine.solo.delete(r) : engine.solo.add(r); renderListen(); });
    mixer.append(el("div", { className: "strip" }, el("b", { textContent: row }), m, so));
  });
  const loop = loopById(selectedId);
  const cv = $("#listen-grid"); cv.dataset.loop = loop.id;
  cv._draw = (head) => drawGrid(cv, loopById(Number(cv.dataset.loop)).grid, { cell: 16, rowHeight: 22, labels: true, playhead: head, muted: (r) => !engine.audible(r) });
  cv._draw(null);
}

function abSwitch(side) {
  abSide = side || (abSide === "A" ? "B" : "A");
  const loop = loopById(Number($(abSide === "A" ? "#a-loop" : "#b-loop").value));
  $("#ab").textContent = `A/B: playing ${abSide}`;
  audition(loop);
}
$("#ab").addEventListener("click", () => abSwitch());
$("#normalise").addEventListener("change", (e) => { engine.normalise = e.target.checked; });

// --- Steer ----------------------------------------------------------------------

let steer = null;   // { base, genotype, attributes: {}, grid, edited, parent }

function renderSteerChoices() {
  for (let c = 0; c < 4; c++) {
    const s = $(`#c${c}`), keep = Number(s.value);
    s.innerHTML = "";
    S.loops.forEach((l, i) => s.append(el("option", { value: l.id, textContent: `${i + 1} (#${l.id})` })));
    s.value = S.loops.some((l) => l.id === keep) ? keep : S.loops[Math.min(c, S.loops.length - 1)].id;
  }
}

function slider(label, min, max, step, value, oninput, title = "") {
  // a slider's row: its plain name, the control, the value (the name's tooltip says more)
  const input = el("input", { type: "range", min, max, step, value });
  const out = el("output", { textContent: Number(value).toFixed(2) });
  input.addEventListener("input", () => { out.textContent = Number(input.value).toFixed(2); oninput(Number(input.value)); });
  const row = el("label", { className: "slider", title }, el("span", { textContent: label }), input, out);
  row.input = input;
  return row;
}

function loadSteer(loop) {
  steer = { base: loop, genotype: loop.genotype ? loop.genotype.slice() : null, attributes: {}, grid: loop.grid.map((r) => r.slice()), edited: false, parent: loop.id, gain: loop.gain_db };
  $("#steer-title").textContent = `Steering ${position(loop.id)} (#${loop.id})`;
  const latent = $("#latent"); latent.innerHTML = "";
  steer.latentRows = []; steer.attributeRows = [];
  if (steer.genotype) steer.genotype.forEach((v, i) => { const row = slider(`z${i + 1}`, -3, 3, 0.01, v, (x) => { steer.genotype[i] = x; steer.edited = false; decode(); }); steer.latentRows.push(row); latent.append(row); });
  else latent.append(el("p", { className: "hint", textContent: "the grid space has no latent sliders: toggle cells instead" }));
  const attrs = $("#attributes"); attrs.innerHTML = "";
  if (!S.attributes.length) attrs.append(el("p", { className: "hint", textContent: "this model has no attribute directions (evodrum steer --build)" }));
  for (const a of S.attributes) {
    const row = slider(a.label || a.name, a.range[0], a.range[1], 0.05, 0, (x) => { steer.attributes[a.name] = x; steer.edited = false; decode(); }, `${a.about || a.name} · +1 = ${a.unit}`);
    row.direction = a.name; steer.attributeRows.push(row); attrs.append(row);
  }
  drawSteer();
}

function drawSteer() {
  const cv = $("#steer-grid"); cv.dataset.loop = steer.parent;
  cv._draw = (head) => drawGrid(cv, steer.grid, { cell: 16, rowHeight: 22, labels: true, playhead: head, showLock: true });
  cv._draw(null);
}

let inflight = false, again = null;
async function decode(body) {
  body = body || { genotype: steer.genotype, attributes: steer.attributes };
  if (inflight) { again = body; return; }
  inflight = true;
  const t0 = performance.now(), edits = steer.edits || 0;
  try {
    const out = await api(body.corners ? "/api/palette" : "/api/decode", body);
    timings.push(performance.now() - t0); if (timings.length > 20) timings.shift();
    const sorted = timings.slice().sort((a, b) => a - b);
    $("#roundtrip").textContent = `decode round trip ${sorted[Math.floor(sorted.length / 2)].toFixed(0)} ms`;
    if ((steer.edits || 0) !== edits) return;   // a cell was toggled meanwhile: keep the edit
    steer.grid = out.grid; steer.decoded = out.genotype; steer.gain = out.gain_db;
    if (body.corners) { steer.genotype = out.genotype.slice(); steer.attributes = {}; syncSliders(); }
    if (out.note) say(out.note);
    engine.replaceGrid(steer.parent, out.grid, out.gain_db);
    drawSteer();
  } finally {
    inflight = false;
    if (again) { const b = again; again = null; decode(b); }
  }
}

// After a palette move the sliders show where the loop now is: latent sliders its new
// genotype, attribute sliders 0 (a move is measured from here), so the next nudge starts
// from what you hear.
function syncSliders() {
  (steer.latentRows || []).forEach((row, i) => { row.input.value = steer.genotype[i]; row.querySelector("output").textContent = Number(steer.genotype[i]).toFixed(2); });
  (steer.attributeRows || []).forEach((row) => { row.input.value = 0; row.querySelector("output").textContent = "0.00"; });
}

$("#steer-grid").addEventListener("click", (e) => {
  const cv = e.currentTarget, rect = cv.getBoundingClientRect();
  const x = (e.clientX - rect.left) * cv.width / rect.width - Number(cv.dataset.label);
  const y = (e.clientY - rect.top) * cv.height / rect.height;
  const s = Math.floor(x / Number(cv.dataset.cw)), r = Math.floor(y / Number(cv.dataset.ch));
  if (s < 0 || r < 0 || r >= steer.grid.length || s >= steer.grid[0].length) return;
  (steer.toggles = steer.toggles || []).push([r, s, steer.grid[r][s]]);
  steer.grid[r][s] = steer.grid[r][s] ? 0 : 100;
  steer.edited = true; steer.edits = (steer.edits || 0) + 1;
  engine.replaceGrid(steer.parent, steer.grid, steer.gain);
  drawSteer();
});

$("#steer-reset").addEventListener("click", () => loadSteer(steer.base));
$("#vary-here").addEventListener("click", async () => {
  const genotype = steer.decoded || steer.genotype;
  const body = steer.edited ? { grid: steer.grid, parent: steer.parent, ...(genotype ? { genotype } : {}) } : { genotype, parent: steer.parent };
  say("encoding and varying…");
  await refresh(await api("/api/vary", body));
  const first = S.loops[0];
  if (engine.timer) audition(first);      // playback follows the loop you made
  say(steer.edited && first.changed_onsets != null
    ? `generation ${S.generation}: your edited cells stay in every loop (${S.locked.about}); the model filled the rest, ${Math.round(100 * first.changed_onsets)}% of hits differ from your edit`
    : `generation ${S.generation}: your loop first, then variations of it`);
  document.querySelector('#tabs button[data-view="evolve"]').click();
});

function padMove(e) {
  if (!(e.buttons & 1) && e.type !== "click") return;
  const cv = $("#pad"), rect = cv.getBoundingClientRect();
  const x = Math.min(1, Math.max(0, (e.clientX - rect.left) / rect.width));
  const y = Math.min(1, Math.max(0, (e.clientY - rect.top) / rect.height));
  const g = cv.getContext("2d");
  g.clearRect(0, 0, cv.width, cv.height);
  g.fillStyle = "#f2a33a"; g.beginPath(); g.arc(x * cv.width, y * cv.height, 7, 0, 7); g.fill();
  steer.edited = false;
  decode({ corners: [0, 1, 2, 3].map((c) => Number($(`#c${c}`).value)), x, y });
}
$("#pad").addEventListener("mousemove", padMove);
$("#pad").addEventListener("mousedown", padMove);
$("#pad").addEventListener("click", padMove);

// --- Target ---------------------------------------------------------------------

let features = null, targetTimer = null;
async function renderGoals() {
  if (features) return;
  const info = await api("/api/target");
  features = info.features;
  const box = $("#goals");
  for (const f of features) {
    const on = el("input", { type: "checkbox", checked: f.default_on });
    const row = slider(f.label || f.name, 0, 1, 0.01, f.value, () => { on.checked = true; }, f.about);
    row.prepend(on); row.check = on; row.feature = f.name;
    box.append(row);
  }
  showTarget(info);
}

$("#target-run").addEventListener("click", async () => {
  const goals = {};
  document.querySelectorAll("#goals .slider").forEach((row) => { if (row.check.checked) goals[row.feature] = Number(row.input.value); });
  showTarget(await api("/api/target", { goals, generations: Number($("#target-gens").value) }));
  clearInterval(targetTimer);
  targetTimer = setInterval(async () => { const t = await api("/api/target"); showTarget(t); if (!t.running) clearInterval(targetTimer); }, 400);
});

function showTarget(t) {
  const job = t.job;
  if (!job) return;
  $("#target-progress").value = job.generation / job.generations;
  $("#target-status").textContent = job.error ? job.error : `generation ${job.generation} of ${job.generations} · best distance ${job.best_distance == null ? "-" : job.best_distance.toFixed(3)}` + (t.running ? "" : " · done");
  const box = $("#target-results"); box.innerHTML = "";
  (job.best || []).forEach((b, i) => {
    const cv = el("canvas"); cv.dataset.loop = `t${i}`; cv._draw = (h) => drawGrid(cv, b.grid, { playhead: h }); cv._draw(null);
    const play = el("button", { textContent: "▶ hear" });
    play.addEventListener("click", () => hearFound(b, `t${i}`, `target result ${i + 1}`));
    const vary = el("button", { textContent: "vary from here ▶", className: "primary" });
    vary.addEventListener("click", async () => { await refresh(await api("/api/vary", { genotype: b.genotype })); document.querySelector('#tabs button[data-view="evolve"]').click(); });
    const path = `/api/target/${i + 1}.mid`, name = `target-${i + 1}.mid`;
    const save = midiLink(path, { className: "mid", download: name, textContent: "⇩ .mid", title: "download as played (feel, swing), or drag the card into your DAW" });
    const card = el("div", { className: "card" }, el("div", { className: "top" }, el("b", { textContent: `result ${i + 1}` }), el("span", { className: "id", textContent: `distance ${b.distance.toFixed(3)}` }), play, vary, save), cv);
    card.draggable = true;
    card.addEventListener("dragstart", (e) => dragMidi(e, foundUrl(path), name));
    box.append(card);
  });
}

// A Target or Map loop played as Evolve's loops are: with the model's take of it, which
// the feel and swing sliders blend in (the server draws it, as it will for its file).
async function hearFound(found, id, label) {
  const played = await api("/api/played", { grid: found.grid });
  engine.play({ id, grid: found.grid, feel: played.feel, gain_db: played.gain_db, label });
}

// --- Map -----------------------------------------------------------------------

let atlasJob = null, mapTimer = null;
async function renderMapChoices() {
  if ($("#map-x").options.length) return;
  const info = await api("/api/atlas");
  mapFeatures = info.features;
  for (const [sel, def] of [["#map-x", "all.density"], ["#map-y", "kick_snare.syncopation"]]) {
    for (const f of info.features) $(sel).append(el("option", { value: f.name, textContent: f.label, title: f.about, selected: f.name === def }));
  }
  showAtlas(info);
}

$("#map-run").addEventListener("click", async () => {
  const body = { features: [$("#map-x").value, $("#map-y").value], cells: Number($("#map-cells").value), generations: Number($("#map-gens").value) };
  showAtlas(await api("/api/atlas", body));
  clearInterval(mapTimer);
  mapTimer = setInterval(async () => { const t = await api("/api/atlas"); showAtlas(t); if (t.job && t.job.done) clearInterval(mapTimer); }, 400);
});

// The atlas's cells sit inside margins: axis names left and below (never over a cell),
// and a legend of what the colour means on the right.
const ATLAS = { left: 34, bottom: 34, right: 70, top: 8 };
const wfColour = (w) => `hsl(${35 - 25 * w}, 85%, ${Math.round(20 + 60 * w)}%)`;
const featureLabel = (name) => { const f = (mapFeatures || []).find((x) => x.name === name); return f ? f.label : name; };
let mapFeatures = null;

function showAtlas(info) {
  const job = atlasJob = info.job;
  if (!job) return;
  $("#map-progress").value = job.generation / job.generations;
  $("#map-status").textContent = job.error ? job.error : `generation ${job.generation} of ${job.generations}` + (job.done ? ` · ${job.elites.length} of ${job.cells * job.cells} cells filled` : "") + (S.locked.cells ? ` · every loop keeps ${S.locked.about}` : "");
  const cv = $("#atlas"), g = cv.getContext("2d"), n = job.cells;
  const w = cv.width - ATLAS.left - ATLAS.right, h = cv.height - ATLAS.top - ATLAS.bottom, size = Math.min(w, h) / n;
  g.fillStyle = "#16191f"; g.fillRect(0, 0, cv.width, cv.height);
  g.strokeStyle = "#2d323c"; g.strokeRect(ATLAS.left - 0.5, ATLAS.top - 0.5, n * size + 1, n * size + 1);
  for (const e of job.elites) {
    g.fillStyle = wfColour(e.wellformed);
    g.fillRect(ATLAS.left + e.cell[0] * size + 1, ATLAS.top + (n - 1 - e.cell[1]) * size + 1, size - 2, size - 2);
  }
  g.fillStyle = "#8b93a1"; g.font = "12px system-ui";
  g.fillText(`${featureLabel(job.features[0])} →`, ATLAS.left, ATLAS.top + n * size + 22);
  g.save(); g.translate(20, ATLAS.top + n * size); g.rotate(-Math.PI / 2); g.fillText(`${featureLabel(job.features[1])} →`, 0, 0); g.restore();
  const lx = ATLAS.left + n * size + 16;       // legend: well-formedness 0 (dark) .. 1 (bright)
  for (let i = 0; i < 100; i++) { g.fillStyle = wfColour(1 - i / 99); g.fillRect(lx, ATLAS.top + 20 + i * 2, 14, 2); }
  g.fillStyle = "#8b93a1"; g.font = "11px system-ui";
  g.fillText("like real", lx - 4, ATLAS.top + 12); g.fillText("1.0", lx + 18, ATLAS.top + 28);
  g.fillText("0.0", lx + 18, ATLAS.top + 218); g.fillText("drumming", lx - 4, ATLAS.top + 236);
}

$("#atlas").addEventListener("click", (e) => {
  if (!atlasJob || !atlasJob.elites.length) return;
  const cv = e.currentTarget, rect = cv.getBoundingClientRect(), n = atlasJob.cells;
  const size = Math.min(cv.width - ATLAS.left - ATLAS.right, cv.height - ATLAS.top - ATLAS.bottom) / n;
  const px = (e.clientX - rect.left) * cv.width / rect.width - ATLAS.left;
  const py = (e.clientY - rect.top) * cv.height / rect.height - ATLAS.top;
  const x = Math.floor(px / size), y = n - 1 - Math.floor(py / size);
  if (x < 0 || x >= n || y < 0 || y >= n) return;
  const elite = atlasJob.elites.find((el_) => el_.cell[0] === x && el_.cell[1] === y);
  const box = $("#map-cell"); box.innerHTML = "";
  if (!elite) { box.append(el("p", { className: "hint", textContent: `cell ${x + 1}, ${y + 1}: no loop found there` })); return; }
  const grid = el("canvas"); grid.dataset.loop = "atlas"; grid._draw = (h) => drawGrid(grid, elite.grid, { cell: 10, rowHeight: 14, labels: true, playhead: h }); grid._draw(null);
  const label = `atlas cell ${x + 1}, ${y + 1}`;
  const play = el("button", { textContent: "▶ hear" });
  play.addEventListener("click", () => hearFound(elite, "atlas", label));
  const vary = el("button", { textContent: "vary from here ▶", className: "primary" });
  vary.addEventListener("click", async () => { await refresh(await api("/api/vary", { genotype: elite.genotype })); document.querySelector('#tabs button[data-view="evolve"]').click(); });
  const path = `/api/atlas/${x + 1}-${y + 1}.mid`, name = `atlas-${x + 1}-${y + 1}.mid`;
  const save = midiLink(path, { className: "button mid", download: name, textContent: "⇩ .mid", title: "download as played (feel, swing), or drag the grid into your DAW" });
  grid.draggable = true;
  grid.addEventListener("dragstart", (e) => dragMidi(e, foundUrl(path), name));
  box.append(el("h3", { textContent: `cell ${x + 1}, ${y + 1}: ${featureLabel(atlasJob.features[0])} ${elite.measures[0]}, ${featureLabel(atlasJob.features[1])} ${elite.measures[1]} · like real drumming ${elite.wellformed.toFixed(2)}` }), grid, el("div", { className: "bar" }, play, vary, save));
  hearFound(elite, "atlas", label);
});

// --- Export ---------------------------------------------------------------------

const OP_WORDS = { prior: "new", seed: "your loop", blend: "blend", vary: "variation", edit: "made by hand" };

// Every loop of the session, newest generation first: any of them can be exported.
function renderExport() {
  $("#export-folder").textContent = `Session folder: ${S.folder} · continue in a terminal: evodrum interactive --resume ${S.folder}`;
  $("#export-favourites").href = foundUrl($("#export-favourites").dataset.midi);
  const body = $("#export-table tbody"); body.innerHTML = "";
  const history = (S.history || []).slice().sort((a, b) => b.generation - a.generation || a.id - b.id);
  history.forEach((l) => body.append(el("tr", { className: position(l.id) ? "shown" : "" },
    el("td", { textContent: `#${l.id}` + (position(l.id) ? ` (${position(l.id)} on screen)` : "") + (l.favourite ? " ♥" : "") }),
    el("td", { textContent: l.generation }),
    el("td", { textContent: l.rating == null ? "-" : l.rating }),
    el("td", { textContent: OP_WORDS[l.op] || l.op }),
    el("td", {}, midiLink(loopMidi(l.id), { textContent: "MIDI", download: midiName(l.id) }),
      el("a", { href: download(`/api/loop/${l.id}.wav`), textContent: "WAV", download: `loop-${l.id}.wav` })))));
}

// Lock toggles: a locked row stays exactly as in the loop you hear in every loop made from
// now on (breeding, vary, sliders, Target, Map); edited cells kept by "vary from here" too.
function renderLock() {
  const box = $("#locks"); box.innerHTML = "";
  const held = new Set(S.locked.rows);
  box.append(el("span", { className: "hint", textContent: "lock rows of the loop you hear: " }));
  S.rows.forEach((row) => {
    const b = el("button", { textContent: (held.has(row) ? "● " : "") + row, className: "lock" + (held.has(row) ? " on" : ""), title: held.has(row) ? `${row} locked: click to free it` : `keep ${row} exactly as in the loop you hear, evolve the rest` });
    b.dataset.row = row;
    b.addEventListener("click", async () => {
      const rows = held.has(row) ? S.locked.rows.filter((r) => r !== row) : [...S.locked.rows, row];
      await refresh(await api("/api/lock", { rows, id: selectedId }));
      say(S.locked.about);
    });
    box.append(b);
  });
  const loose = S.locked.cells - S.locked.rows.length * S.spec.bars * S.spec.beats_per_bar * S.spec.steps_per_beat;
  if (loose > 0) {
    const free = el("button", { textContent: `free ${loose} edited cell${loose > 1 ? "s" : ""}`, title: "your hand edits stop being kept in new loops" });
    free.addEventListener("click", async () => refresh(await api("/api/lock", { rows: S.locked.rows, keep_edits: false })));
    box.append(free);
  }
  $("#undo").disabled = !S.undo;
  $("#undo").title = S.undo ? `Ctrl+Z: undo ${S.undo}` : "nothing to undo";
}
$("#undo").addEventListener("click", () => undo());

// --- MIDI out (Web MIDI) ------------------------------------------------------------
// Loops can play through any MIDI output the computer has (a DAW's virtual port, a
// hardware module), at the pitches of the chosen note map, scheduled on the same
// clock as the browser kit.

const midi = { access: null, out: null, map: null, maps: [] };

function midiSilence(out) {
  if (!out) return;
  for (const p of new Set(Object.values(midi.map ? midi.map.pitches : {}))) out.send([0x89, p, 0]);
  out.send([0xB9, 123, 0]);                 // All Notes Off on channel 10
}

function listOutputs() {
  const sel = $("#midi-out"), keep = sel.value;
  sel.innerHTML = ""; sel.append(el("option", { value: "", textContent: "browser kit" }));
  for (const o of midi.access.outputs.values()) sel.append(el("option", { value: o.id, textContent: `MIDI: ${o.name}` }));
  sel.value = [...sel.options].some((o) => o.value === keep) ? keep : "";
  if (midi.out && sel.value !== midi.out.id) chooseOutput("");
}

function chooseOutput(id) {
  midiSilence(midi.out);
  midi.out = (id && midi.access && midi.access.outputs.get(id)) || null;
  $("#midi-out").value = midi.out ? midi.out.id : "";
  setClockOut($("#clock-out").checked);
  say(midi.out ? `loops play through MIDI to ${midi.out.name} (${midi.map.name} notes)` : "loops play on the browser kit");
}

// --- beside a DAW: follow its clock or a Link session, send it clock ---------------------
// The follow choice and "send clock" are this browser's (remembered in localStorage);
// a tempo that comes from the DAW or Link becomes the session's (saved, used by exports).

const link = { available: false };

function listFollow() {
  const sel = $("#follow"), keep = sel.value;
  sel.innerHTML = "";
  sel.append(el("option", { value: "", textContent: "own tempo" }));
  sel.append(el("option", { value: "link", textContent: "Ableton Link", disabled: !link.available,
    title: link.available ? "join the Link session on this network: its tempo, loops start on its bar lines" : "needs the aalink package: pip install 'evodrum[link]'" }));
  if (midi.access && midi.access.inputs) for (const i of midi.access.inputs.values()) sel.append(el("option", { value: `clock:${i.id}`, textContent: `clock from ${i.name}` }));
  sel.value = [...sel.options].some((o) => o.value === keep && !o.disabled) ? keep : "";
  const f = engine.follow;      // a followed clock's input unplugged: say so, play on alone
  if (f && f.kind === "clock" && sel.value !== `clock:${f.input.id}`) followEvents.lost(`${f.name}'s clock is gone (its MIDI input left): own tempo`);
}

const followEvents = {
  run: (songTick) => engine.followRun(songTick),   // the DAW's Start or Continue
  stop: () => engine.halt(true),                   // the DAW's Stop: the loop stays cued
  start: () => { if (engine.current && !engine.timer) engine.play(engine.current.loop); },   // a Link peer started
  tick: () => engine.schedule(),
  tempo: (bpm) => followedTempo(bpm),
  update: () => updatePlaying(),
  lost: (why) => { say(why, true); chooseFollow("", true); },
};

// Follow `value` ("", "link" or "clock:<input id>"), saying so on the status line unless
// `quiet`: loading the saved choice (the transport line says it), or a lost one (why it was).
async function chooseFollow(value, quiet = false) {
  const was = engine.follow;
  let follow = null;
  try {
    if (value === "link") {
      await api("/api/link", { on: true });
      follow = new LinkFollower(followEvents);
      await follow.poll();
    } else if (value.startsWith("clock:")) {
      const input = midi.access && midi.access.inputs.get(value.slice(6));
      if (input) follow = new ClockFollower(input, followEvents);
    }
  } catch (e) { follow = null; }                     // the reason is on the status line
  if (was && was.kind === "link" && !(follow && follow.kind === "link")) api("/api/link", { on: false }).catch(() => {});
  engine.setFollow(follow);
  if (follow && follow.bpm) followedTempo(follow.bpm);   // known before it was followed
  $("#follow").value = follow ? value : "";
  localStorage.setItem("evodrum.follow", follow ? value : "");
  $("#bpm").disabled = !!follow && follow.kind === "clock";
  $("#bpm").title = $("#bpm").disabled ? "the DAW's clock sets the tempo (it becomes the session's)" : "the session's tempo: playback, MIDI and WAV exports (saved)";
  setClockOut($("#clock-out").checked);
  if (quiet) return;
  if (follow && follow.kind === "clock") say(`following ${follow.name}'s clock: press play in the DAW (loops start on its bar lines)`);
  else if (follow) say("in the Link session: loops start on its bar lines, at its tempo");
  else if (value === "") say("own tempo");
}

// A tempo from the DAW's clock (rounded to 0.1 BPM; jitter within 0.07 BPM of the
// session's is no change) or from Link (to 0.01) becomes the session's: saved, exported.
let tempoPost = null, followShown = null;
function followedTempo(bpm) {
  const f = engine.follow;
  if (!f) return;
  engine.bpm = bpm;
  if (f.describe() !== followShown) { followShown = f.describe(); updatePlaying(); }   // not every tick
  const clock = f.kind === "clock";
  const rounded = clock ? Math.round(bpm * 10) / 10 : Math.round(bpm * 100) / 100;
  if (tempoPost || Math.abs(bpm - S.bpm) < (clock ? 0.07 : 0.005) || rounded < 20 || rounded > 400) return;
  tempoPost = api("/api/tempo", { bpm: rounded, source: f.kind })
    .then((st) => { refresh(st); say(`tempo ${S.bpm} BPM from ${clock ? `${f.name}'s clock` : "the Link session"}: the session's, for playback and every export`); })
    .catch(() => {})
    .finally(() => setTimeout(() => { tempoPost = null; }, 500));
}

function setClockOut(on) {
  if (engine.clockOut) engine.clockOut.stop();
  const following = engine.follow && engine.follow.kind === "clock";
  engine.clockOut = on && midi.out && !following ? new ClockSender(midi.out) : null;
  $("#clock-out").checked = on;
  $("#clock-out").disabled = !midi.out || following;
  localStorage.setItem("evodrum.clock-out", on ? "1" : "");
  updatePlaying();
}

// No MIDI out: said in the output list (a greyed entry, the reason as its tooltip), not on
// the status line, which says what the musician just did (perhaps as the page loads).
function noMidi(short, why) {
  const sel = $("#midi-out");
  sel.title = why;
  sel.append(el("option", { value: "none", textContent: `MIDI: ${short}`, title: why, disabled: true }));
}

async function setupMidi() {
  // the saved clock-out first: the box is disabled (unchangeable) until an output is chosen
  setClockOut(localStorage.getItem("evodrum.clock-out") === "1");
  const info = await api("/api/notemaps");
  midi.maps = info.maps;
  const sel = $("#note-map"); sel.innerHTML = "";
  for (const m of info.maps) sel.append(el("option", { value: m.key, textContent: m.name, title: m.source }));
  const saved = localStorage.getItem("evodrum.note-map");
  sel.value = info.maps.some((m) => m.key === saved) ? saved : info.default;
  midi.map = info.maps.find((m) => m.key === sel.value);
  relinkMidi();
  link.available = (await api("/api/link")).available;
  listFollow();
  await restoreFollow();       // Link at once, not held up by a MIDI permission prompt
  await connectMidi();
  await restoreFollow();       // a DAW's clock, once MIDI lists its input
}

// The follow chosen on an earlier visit, quietly, once its source is listed (unless the
// musician has chosen one since the page opened); "" is the own tempo, as loaded.
async function restoreFollow() {
  const follow = localStorage.getItem("evodrum.follow") || "";
  if (follow && follow !== $("#follow").value && [...$("#follow").options].some((o) => o.value === follow && !o.disabled)) await chooseFollow(follow, true);
}

// Web MIDI's outputs (and clock inputs) in the lists, kept up to date as devices come and go.
async function connectMidi() {
  if (!navigator.requestMIDIAccess) { noMidi("none in this browser", "this browser offers no Web MIDI (use Chrome, Edge or Firefox)"); return; }
  try { midi.access = await navigator.requestMIDIAccess(); }
  catch (e) { noMidi("not allowed", `MIDI out is not allowed here (${e.message || e}): allow MIDI in the site's settings and reload`); return; }
  listOutputs();
  listFollow();
  midi.access.onstatechange = () => { listOutputs(); listFollow(); };
}

$("#midi-out").addEventListener("change", (e) => chooseOutput(e.target.value));
$("#follow").addEventListener("change", (e) => chooseFollow(e.target.value));
$("#clock-out").addEventListener("change", (e) => setClockOut(e.target.checked));
$("#note-map").addEventListener("change", (e) => {
  midiSilence(midi.out);
  midi.map = midi.maps.find((m) => m.key === e.target.value);
  localStorage.setItem("evodrum.note-map", midi.map.key);
  relinkMidi();
  say(`${midi.map.name}: MIDI out and MIDI downloads use its notes`);
});

refresh().then(() => { requestAnimationFrame(animate); setupMidi().catch((e) => say(String(e), true)); return engine.start(); })
  .catch((e) => say(String(e), true));   // the kit loads at once; audio starts on a click
