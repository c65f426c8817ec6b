"""Speed benchmarks (not installed; run from a checkout): `python -m benchmarks.NAME`.

corpus (corpus build, MIDI round trips), model (VAE decode/encode/training epoch),
features (features, judges, well-formedness), audio (synthesiser), refine (`--refine`
for one loop and a batch, against its floor), search (one
generation's parts against their floors, a whole `evodrum target`), compare (a
comparison's cost), reading (a long MIDI file parsed once per
command). Every figure comes from `benchmarks.timing`; the machine may be
shared, so they report medians (and best) of several repeats.
"""
