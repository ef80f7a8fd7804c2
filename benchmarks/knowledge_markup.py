"""CPU time of `markup_free` on crafted article text that once took time growing with
the square of its length: tag starts never closed (which the standard library's HTML
parser before Python 3.13 reads again to the end of the text), runs of ``[`` (each
once a new try of the link pattern to the end of the line) and runs of ``](`` (each
an address to judge). CPU seconds of the process that cleans the text, per input.

    .venv/bin/python benchmarks/knowledge_markup.py
    .venv/bin/python benchmarks/knowledge_markup.py --code /tmp/old /work/main --scale 0.5

`--code` runs each input in a process of its own for each checkout's `src` (the one
this script is run with by default), so two versions compare in one run; `--scale`
multiplies the inputs' lengths.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

# name -> (piece, repeats): the input is piece * repeats (times --scale).
INPUTS: dict[str, tuple[str, int]] = {
    '"<b\\n" * 10000': ("<b\n", 10000),
    '"<a href=\'" * 10000': ("<a href='", 10000),
    '"[x" * 50000': ("[x", 50000),
    '"[" * 50000 + "]("': ("[", 50000),
    '"[" * 50000': ("[", 50000),
    '"<a:" * 50000': ("<a:", 50000),
    '"<a" * 50000': ("<a", 50000),
    '"](\\\\(" * 50000': ("](\\(", 50000),
    '"](" * 50000': ("](", 50000),
}
_TAILS = {'"[" * 50000 + "]("': "]("}

_MEASURE = """
import json, sys, time
from supporter.knowledge.html import markup_free
text = sys.stdin.read()
started = time.process_time()
markup_free(text)
print(json.dumps(time.process_time() - started))
"""


def text_of(name: str, scale: float) -> str:
    piece, repeats = INPUTS[name]
    return piece * max(1, round(repeats * scale)) + _TAILS.get(name, "")


def cpu_seconds(checkout: Path | None, text: str) -> float:
    environ = dict(os.environ)
    if checkout is not None:
        environ["PYTHONPATH"] = str(checkout.resolve() / "src")
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE],
        input=text,
        capture_output=True,
        text=True,
        env=environ,
        check=True,
    )
    return float(json.loads(done.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", nargs="+", type=Path, help="checkouts to compare")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the lengths")
    args = parser.parse_args()
    checkouts: list[Path | None] = list(args.code) if args.code else [None]
    names = [str(checkout) if checkout else "this" for checkout in checkouts]
    print("| input | characters | " + " | ".join(f"{name} CPU s" for name in names) + " |")
    print("|---|---:|" + "---:|" * len(names))
    for name in INPUTS:
        text = text_of(name, args.scale)
        cells = " | ".join(f"{cpu_seconds(checkout, text):.3f}" for checkout in checkouts)
        print(f"| `{name}` | {len(text):,} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
