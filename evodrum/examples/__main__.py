"""`python -m evodrum.examples`: write the shipped MIDI files again from `patterns.py`."""
from evodrum.examples import write_midi_files

for written in write_midi_files():
    print(f"wrote {written}")
