"""Listening commands: play and render. Other commands that play loops (the
interactive session) reuse `listening_options` and `player_from_options`."""
from __future__ import annotations

from pathlib import Path

import click

from evodrum.cli import main
from evodrum.cli.feel import feel_options
from evodrum.cli.inputs import (
    bpm_from_file_option,
    drum_channel_option,
    drum_map_option,
)
from evodrum.cli.options import (
    OUT_FILE,
    OUT_FOLDER,
    Number,
    ascii_option,
    grid_option,
    note_map_option,
)
from evodrum.cli.output import current, detail, output_options, say, wrote

TAIL_HELP = ("Decays past the loop's end: wrap onto the start (seamless looping), cut, "
             "or ring (the file runs on until they fade).")


def _options(*decorators):
    def apply(f):
        for d in reversed(decorators):
            f = d(f)
        return f
    return apply


synth_options = _options(
    click.option("--synth", "synth_name", type=click.Choice(["auto", "builtin", "fluidsynth"]),
                 default="auto", show_default=True,
                 help="Sound source: the built-in kit, or FluidSynth with a General MIDI "
                      "soundfont (auto: FluidSynth when it and a soundfont are installed)."),
    click.option("--soundfont", type=click.Path(exists=True, dir_okay=False), default=None,
                 help="General MIDI soundfont (.sf2) for FluidSynth [default: "
                      "$EVODRUM_SOUNDFONT or a system one]."),
    click.option("--sample-rate", "sr", type=click.IntRange(8000, 192000), default=44100,
                 show_default=True, help="Audio sample rate in Hz."),
)

listening_options = _options(
    synth_options,
    click.option("--output", type=click.Choice(["auto", "sounddevice", "afplay", "paplay",
                                                "pw-play", "aplay"]),
                 default="auto", show_default=True,
                 help="How audio reaches the speakers (auto: the first one installed)."),
    click.option("--midi-port", default=None, metavar="NAME",
                 help="Send the loop to this MIDI output (a synth or DAW) instead of "
                      "playing audio; needs evodrum[midi]."),
    click.option("--clock/--no-clock", default=True, show_default=True,
                 help="With --midi-port: also send MIDI clock (24 per quarter note) with "
                      "Song Position, Start and Stop, so a DAW set to follow it runs in time."),
    click.option("--clock-in", default=None, metavar="NAME",
                 help="With --midi-port: follow the MIDI clock on this input (the DAW is "
                      "the master): its tempo, Start, Stop and Song Position."),
    click.option("--link", is_flag=True,
                 help="With --midi-port: join an Ableton Link session (its tempo; loops "
                      "start on its bar lines); needs evodrum[link]."),
    note_map_option,
    click.option("--no-audio", is_flag=True,
                 help="Play nothing: write each loop as MIDI and WAV for your own player."),
    click.option("--out-dir", type=OUT_FOLDER, default=None,
                 help="Where --no-audio writes its files (never over a file it did not "
                      "write) [default: a new folder under runs/; interactive: the "
                      "session's listen/ folder]."),
)


def player_from_options(*, output, midi_port, clock, clock_in, link, note_map, no_audio,
                        out_dir, synth_name, soundfont, sr, bpm=120.0, outputs=None):
    """The Player the listening options describe (see evodrum.audio.open_player);
    a command decorated with `listening_options` passes its parameters by name.
    --no-audio without --out-dir writes into a new run folder."""
    from evodrum.audio import open_player
    from evodrum.runs import new_run_dir
    if no_audio and out_dir is None:
        out_dir = new_run_dir(click.get_current_context().info_name)
    return open_player(output=output, midi_port=midi_port, no_audio=no_audio,
                       out_dir=out_dir or ".", synth_name=synth_name, soundfont=soundfont,
                       sr=sr, report=click.echo, outputs=outputs,
                       sync=dict(clock=clock, clock_in=clock_in, link=link, bpm=bpm),
                       note_map=note_map)


def _read_loop(path: str, spec, index: int | None, drum_map: str, drum_channel: int | None,
               feel_amount: float, swing: float):
    """(loop, resolution, the file's tempo where it starts) of a MIDI or grid file: the
    whole file, or grid `index` (from 1), played with `feel_amount` of its own timing
    and `swing` (see `inputs.to_play`)."""
    from evodrum.cli import inputs
    from evodrum.feel import Feel, perform
    loops, plan, _ = inputs.to_play(path, spec, index, drum_map, drum_channel)
    played = perform(plan.stitched(loops.loops()[plan.windows]),
                     Feel("own", feel_amount, swing=swing))
    return played, played.spec, loops.bpm(plan.windows[0])


#: What makes a render of `play` or `render` smaller, in their options.
SMALLER = ("a lower --sample-rate", "a faster --bpm", "--window N (one window of the file)")

index_option = click.option(
    "--index", "--window", "index", type=click.IntRange(1), default=None,
    help="Play only this grid of the file, counting from 1 (a long performance gives one "
         "per bar: the grid's 4 bars from bar N) [default: the whole file, up to 64 bars; "
         "of a grid file, the first grid with hits].")


@main.command()
@click.argument("file", type=click.Path())
@grid_option
@bpm_from_file_option
@index_option
@drum_map_option
@drum_channel_option
@click.option("--once", is_flag=True, help="Play the loop once instead of until Ctrl-C.")
@feel_options("the file's own timing", scatter=False)
@listening_options
@ascii_option
def play(file, spec, bpm, index, drum_map, drum_channel, once, feel_amount, swing, output,
         midi_port, clock, clock_in, link, note_map, no_audio, out_dir, synth_name, soundfont, sr,
         ascii):
    """Play a drum loop from a MIDI or grid file, looping until Ctrl-C.

    Sound comes from the built-in drum synthesiser (or FluidSynth with a
    General MIDI soundfont) through sounddevice or the system's player
    (afplay, paplay, pw-play, aplay). --midi-port sends the loop to a synth
    or DAW instead, and --no-audio writes MIDI and WAV files for any player.
    A file is played with its own timing (--feel 0: straight on the grid).

    \b
    Examples:
      evodrum play loop.mid
      evodrum play loop.mid --bpm 96 --once
      evodrum play loop.mid --soundfont ~/sf2/FluidR3_GM.sf2
      evodrum play loop.mid --midi-port "IAC Driver Bus 1"
      evodrum play loop.mid --midi-port "IAC Driver Bus 1" --clock-in "IAC Driver Bus 2"
      evodrum play loop.mid --midi-port "IAC Driver Bus 1" --link
      evodrum play loop.mid --no-audio --out-dir listen/
    """
    from evodrum import display
    from evodrum.audio.synth import AudioTooLong
    from evodrum.outpaths import Outputs

    grid, spec, file_bpm = _read_loop(file, spec, index, drum_map, drum_channel, feel_amount,
                                      swing)
    bpm = bpm or file_bpm
    with player_from_options(output=output, midi_port=midi_port, clock=clock,
                             clock_in=clock_in, link=link, note_map=note_map,
                             no_audio=no_audio, out_dir=out_dir,
                             synth_name=synth_name, soundfont=soundfont, sr=sr, bpm=bpm,
                             outputs=Outputs([file])) as player:
        click.echo(display.render(grid.velocities, spec, title=Path(file).name, ascii=ascii))
        try:
            player.play(grid, spec, bpm, loop=not once, name=Path(file).stem)
        except AudioTooLong as e:     # Player.play turns a MemoryError into one
            raise AudioTooLong.of(file, e, *SMALLER) from None
        if no_audio:
            return
        until = "once" if once else "until Ctrl-C"
        at = "" if clock_in or link else f" at {bpm:g} BPM"
        click.echo(f"playing{at} with {player.description}, {until}")
        try:
            while not player.wait(0.25):
                pass
        except KeyboardInterrupt:
            click.echo("stopped")


@main.command()
@click.argument("file", type=click.Path())
@click.option("-o", "--out", type=OUT_FILE, default=None,
              help="Audio file to write: .wav, .flac or .ogg, as its suffix says "
                   "[default: FILE with a .wav suffix, or FILE-2.wav, ... when that exists].")
@grid_option
@bpm_from_file_option
@index_option
@drum_map_option
@drum_channel_option
@click.option("--tail", type=click.Choice(["wrap", "cut", "ring"]), default="wrap",
              show_default=True, help=TAIL_HELP)
@feel_options("the file's own timing", scatter=False)
@synth_options
@click.option("--loudness", type=Number(-40, -6), default=-20.0, show_default=True,
              metavar="LUFS", help="Bring the audio to this loudness (ITU-R BS.1770, as a "
              "DAW's loudness meter reads it), true peaks at most -1 dBTP, so every render "
              "and both sound sources sit at one level.")
@click.option("--raw", is_flag=True, help="Keep the sound source's own level (no loudness "
              "normalisation; peaks are only kept under full scale).")
@output_options
def render(file, out, spec, bpm, index, drum_map, drum_channel, tail, feel_amount, swing,
           synth_name, soundfont, sr, loudness, raw):
    """Render a drum loop from a MIDI or grid file to an audio file; a folder (such
    as a run folder) renders each of its MIDI files beside it.

    The audio is exactly one pass of the file long (a 4-bar loop at 120 BPM:
    8.0 s; a longer file plays whole, up to 64 bars) at the file's own tempo
    unless --bpm is given, with decays wrapped onto the start so it loops
    seamlessly in any player.
    WAV is 16-bit PCM; FLAC and Ogg Vorbis need soundfile (evodrum[audio]).
    Needs no sound card. An existing file is never replaced: a taken name
    moves on to NAME-2.wav, and a note says so. Hits keep the file's own
    timing (--feel 0: straight on the grid; --swing: MPC swing).

    \b
    Examples:
      evodrum render loop.mid -o loop.wav
      evodrum render loop.mid -o loop.flac
      evodrum render loop.mid --bpm 90 --tail ring --sample-rate 48000
      evodrum render runs/target-20261206-101500       # best_01.wav ... beside the loops
    """
    from evodrum.audio import open_renderer
    from evodrum.audio.wav import check_audio_suffix
    from evodrum.errors import EvodrumError

    if out is not None:
        check_audio_suffix(out)
    files = _folder_loops(file) if Path(file).is_dir() else [Path(file)]
    if len(files) > 1 and out is not None:
        raise EvodrumError(f"{file}: is a folder of {len(files)} loops; -o names one file, so "
                           "leave it out (each loop's audio goes beside it)")
    renderer, described = open_renderer(synth_name, soundfont)
    failed = 0
    for path in files:
        try:
            _render_one(path, out, spec, bpm, index, drum_map, drum_channel, tail, feel_amount,
                        swing, renderer, described, sr, None if raw else loudness)
        except EvodrumError as e:
            if len(files) == 1:
                raise
            failed += 1
            say(f"skipped: {e}", err=True)
    if failed:
        raise EvodrumError(f"{file}: {failed} of {len(files)} loops could not be rendered "
                           "(said above); the others were written")


def _folder_loops(folder: str) -> list[Path]:
    """The MIDI files in a folder (recursively), else its grid files; a folder without
    loops is an error naming it."""
    from evodrum.corpus import MIDI_SUFFIXES
    from evodrum.errors import EvodrumError
    from evodrum.judging import loop_files
    files, problems = loop_files([folder])
    if problems:
        raise EvodrumError(problems[0])
    midi_files = [f for f in files if f.suffix.lower() in MIDI_SUFFIXES]
    return midi_files or files


def _render_one(file: Path, out, spec, bpm, index, drum_map, drum_channel, tail, feel_amount,
                swing, renderer, described, sr, loudness) -> None:
    """Render one loop file to `out` (or FILE.wav beside it), at `loudness` LUFS unless
    None, and say what was written."""
    from evodrum.audio import write_audio
    from evodrum.audio.loudness import TARGET_LUFS, lufs, normalise, true_peak_db
    from evodrum.audio.synth import AudioTooLong
    from evodrum.outpaths import Outputs
    outputs = Outputs([file])
    path = outputs.choose(out or file.with_suffix(".wav"), given=out is not None)
    loop, spec, file_bpm = _read_loop(str(file), spec, index, drum_map, drum_channel,
                                      feel_amount, swing)
    bpm = bpm or file_bpm
    try:
        audio = renderer(loop, spec, bpm, sr, tail)
        if loudness is not None:
            audio = normalise(audio, sr, loudness, out=audio)   # in place: held once
        written = write_audio(path, audio, sr)
        shown = current()     # the figures are measured only where they are shown
        figures = ({"lufs": round(lufs(audio, sr), 1),
                    "true_peak_dbtp": round(true_peak_db(audio), 1)}
                   if shown.verbose or shown.as_json else {})
    except (AudioTooLong, MemoryError) as e:
        raise AudioTooLong.of(file, e, *SMALLER) from None
    wrote(written, "audio", source=str(file), seconds=round(len(audio) / sr, 3),
          sample_rate=sr, bpm=bpm, synth=described, **figures)
    level_words = ("at the sound source's own level" if loudness is None
                   else "at the level every render shares" if loudness == TARGET_LUFS
                   else f"at {loudness:g} LUFS, the level you gave")
    say(f"wrote {written}: {len(audio) / sr:.2f} s at {sr} Hz with {described}, "
        f"{level_words}")
    if figures:
        detail(f"{written.name}: {figures['lufs']:g} LUFS, "
               f"true peak {figures['true_peak_dbtp']:g} dBTP")
