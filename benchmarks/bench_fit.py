"""What fitting the hybrid fusion costs `footnote ingest`: the default corpus ingested from scratch, each run a
fresh process, the fit's own time read from what ingest prints.

    .venv/bin/python benchmarks/bench_fit.py [--runs 5] [--corpus corpus] [--out bench-results/fit.json]

Each run is ``footnote ingest CORPUS --index TMP`` in a new process (imports, model load, parse, embed, fit,
write), timed from outside. Ingest prints the fit's own time (``fitted in X s``) on its fusion line. Reported:
the median wall time, the median of the fit's own time, and the fit's share of its ingest (median over runs).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FITTED = re.compile(r"fitted in ([0-9.]+) s")


def ingest(corpus: Path) -> tuple[float, float, str]:
    """(wall seconds, the fit's seconds as ingest printed them, the fusion line) of one fresh ingest."""
    with tempfile.TemporaryDirectory(prefix="footnote-fit-") as tmp:
        started = time.perf_counter()
        shown = subprocess.run([sys.executable, "-m", "footnote.cli", "ingest", str(corpus), "--index",
                                f"{tmp}/index"], capture_output=True, text=True, check=True).stdout
        wall = time.perf_counter() - started
    line = next((x for x in shown.splitlines() if x.startswith("fusion:")), "")
    found = FITTED.search(line)
    if found is None:
        raise RuntimeError(f"ingest of {corpus} printed no fit time (a corpus too small to fit?): {line!r}")
    return wall, float(found.group(1)), line


def ingest_cost(corpus: Path = ROOT / "corpus", runs: int = 5) -> dict[str, Any]:
    """Medians over ``runs`` fresh ingests of ``corpus`` (see the module doc)."""
    walls: list[float] = []
    fits: list[float] = []
    line = ""
    for _ in range(runs):
        wall, fit, line = ingest(corpus)
        walls.append(wall)
        fits.append(fit)
    return {"corpus": str(corpus), "runs": runs, "fusion": line, "ingest_s": statistics.median(walls),
            "fit_s": statistics.median(fits),
            "fit_share": statistics.median(f / w for f, w in zip(fits, walls, strict=True))}


def markdown(cost: dict[str, Any]) -> str:
    return "\n".join(["| ingest (median) | the fit's own time | its share of the ingest |", "|--:|--:|--:|",
                      f"| {cost['ingest_s']:.2f} s | {cost['fit_s']:.2f} s | {100 * cost['fit_share']:.1f}% |"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results" / "fit.json")
    args = parser.parse_args()
    cost = ingest_cost(args.corpus, args.runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(cost, indent=2), "utf-8")
    print(cost["fusion"])
    print(markdown(cost))


if __name__ == "__main__":
    main()
