"""The README's benchmark figures, regenerated: `python -m benchmarks.table [NAME ...]`.

Runs each speed benchmark (all of them, or the ones named) as `python -m
benchmarks.NAME` and writes what each printed, line by line, into README.md
between the two `benchmarks:` markers, with the date, the machine's cores and the
load average it ran at, so no figure there is copied by hand. Rows of benchmarks
not named are kept as they were; a benchmark that fails keeps its old rows and is
reported. `--dry-run` prints the table instead of writing it.
"""
from __future__ import annotations

import argparse
import datetime
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from evodrum import atomic

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
BEGIN = "<!-- benchmarks: begin (written by python -m benchmarks.table; do not edit) -->"
END = "<!-- benchmarks: end -->"

#: (name, arguments): the speed benchmarks the README quotes, in its order.
BENCHMARKS = {
    "corpus": [],
    "model": [],
    "features": [],
    "search": [],
    "refine": [],
    "studio": [],
    "audio": [],
    "loudness": [],
    "render": [],
    "reading": [],
}


def run(name: str, args: list[str], timeout: float) -> tuple[list[str], float, float]:
    """(non-empty lines it printed, CPU seconds, wall seconds) of one benchmark."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise RuntimeError(f"benchmarks.{name} failed: {tail}")
    return [line.strip() for line in done.stdout.splitlines() if line.strip()], cpu, wall


def cell(text: str) -> str:
    """A printed line as a table cell: runs of spaces (column padding) are one space in
    a table anyway, and a pipe would end the cell."""
    return " ".join(text.split()).replace("|", "\\|")


def rows_of(section: str) -> dict[str, list[str]]:
    """The table rows already in the README, by benchmark name."""
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        if line.startswith("| `python -m benchmarks."):
            name = line.split("`python -m benchmarks.", 1)[1].split("`", 1)[0]
            rows.setdefault(name, []).append(line)
    return rows


def table(rows: dict[str, list[str]], when: dict[str, str]) -> str:
    lines = [BEGIN, "", "| benchmark | what it printed |", "|---|---|"]
    for name in BENCHMARKS:
        lines += rows.get(name, [])
    lines += ["", "Ran on " + "; ".join(f"`{n}` {w}" for n, w in when.items() if w) + ".", "",
              END]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.table", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run "
                        f"(default: all of {', '.join(BENCHMARKS)})")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per benchmark")
    parser.add_argument("--dry-run", action="store_true", help="print, do not write README.md")
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"no benchmark {', '.join(sorted(unknown))}: there are {', '.join(BENCHMARKS)}")
    text = README.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        sys.exit(f"error: {README}: the markers {BEGIN!r} and {END!r} are missing")
    head, rest = text.split(BEGIN, 1)
    section, tail = rest.split(END, 1)
    rows = rows_of(section)
    when = dict.fromkeys(BENCHMARKS, "")
    for line in section.splitlines():      # keep when the kept rows were measured
        if line.startswith("Ran on "):
            for part in line[len("Ran on "):].rstrip(".").split("; "):
                name, _, measured = part.partition(" ")
                when[name.strip("`")] = measured
    failed = []
    for name in args.names or list(BENCHMARKS):
        load = os.getloadavg()[0]
        try:
            printed, cpu, wall = run(name, BENCHMARKS[name], args.timeout)
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            failed.append(f"{name}: {e}")
            print(f"{name}: FAILED, its old rows are kept ({e})", file=sys.stderr)
            continue
        rows[name] = [f"| `python -m benchmarks.{name}` | {cell(p)} |" for p in printed]
        when[name] = (f"{datetime.date.today().isoformat()}, {os.cpu_count()} cores, load "
                      f"{load:.1f}, {cpu:.0f} s CPU")
        print(f"{name}: {len(printed)} lines, {cpu:.1f} s CPU, {wall:.1f} s wall", file=sys.stderr)
    new = table(rows, when)
    if args.dry_run:
        print(new)
    else:
        atomic.write_text(README, head + new + tail)
    if failed:
        sys.exit("error: " + "; ".join(failed))


if __name__ == "__main__":
    main()
