"""`python -m evodrum` runs the command line, like the `evodrum` script."""
from evodrum.cli import main

main(prog_name="evodrum")
