"""How long each notebook's core path takes a learner, and whether the notebook says so.

    python benchmarks/notebook_times.py            # the table, from the committed notebooks
    python benchmarks/notebook_times.py --run      # also run each notebook and measure its cells
    python benchmarks/notebook_times.py --check    # exit 1 if a notebook states another time

The method (INSTRUCTORS.md, "How the times are measured"):

- **reading**: the words on the core path, every markdown cell and every code cell a learner reads
  (not the ``check`` and ``solution`` cells), up to the first heading that starts with
  "Optional" or "For the curious", at 170 words per minute;
- **running**: the measured time of its cells (``RUN_SECONDS``, from ``--run`` on a 2-core machine);
- **exercises**: each exercise as fresh-eyes reviewers did it, a wrong answer first:
  1.5 min per line written from scratch, 0.5 min per line copied from a cell on screen and
  edited, 0.5 min per predicted value, plus 4 min for the two check runs read (1 min each) and
  the thinking after the wrong try (2 min). The lines are what the reviewers wrote
  (``EXERCISES``).

The stated time ("**Time:** about N minutes" in the first cell) is the total rounded to 5 minutes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
WORDS_PER_MINUTE = 170
OPTIONAL = re.compile(r"^#+\s+(Optional|For the curious)", re.MULTILINE)
STATED = re.compile(r"\*\*Time:\*\* about (\d+) minutes")


@dataclass(frozen=True)
class Exercise:
    """What a reviewer wrote for one exercise: lines from scratch, lines copied and edited, predictions."""

    name: str
    written: int = 0
    copied: int = 0
    predicted: int = 0

    @property
    def minutes(self) -> float:
        return 1.5 * self.written + 0.5 * self.copied + 0.5 * self.predicted + 4


#: Measured by the fresh-eyes reviews of 2026-12-06 (one reviewer per notebook, every exercise done
#: with a wrong answer first, no solution opened).
EXERCISES: dict[str, tuple[Exercise, ...]] = {
    "01": (Exercise("1.1", written=1, copied=1), Exercise("1.2", written=2), Exercise("1.3", copied=2, predicted=1)),
    "02": (Exercise("2.1", predicted=2), Exercise("2.2", written=1), Exercise("2.3", copied=2)),
    "03": (Exercise("3.1", written=8), Exercise("3.2", predicted=3)),
    "04": (Exercise("4.1", copied=8, predicted=1), Exercise("4.2", copied=7, predicted=2), Exercise("4.3", written=13),
           Exercise("4.4", copied=1, predicted=1)),
    "05": (Exercise("5.1", written=3), Exercise("5.2", predicted=1), Exercise("5.3", predicted=1)),
    "06": (Exercise("6.1", written=3, predicted=2), Exercise("6.2", written=23), Exercise("6.3", written=2, predicted=3)),
    "07": (Exercise("7.1", written=2), Exercise("7.2", written=8, predicted=3)),
    "08": (Exercise("8.1", written=11, copied=4), Exercise("8.2", written=7)),
    "09": (Exercise("9.1", written=6, predicted=2),),
    "10": (Exercise("10.1", written=3, copied=2, predicted=2), Exercise("10.2", written=1, predicted=2)),
}
#: The course's parts: the guide's path, beyond the guide, and the optional attack lab (INSTRUCTORS.md's sessions).
PARTS = {"the guide's path": ("01", "02", "03", "04", "05", "06"), "beyond the guide": ("07", "08", "09"),
         "the attack lab, optional": ("10",)}
#: Seconds the core cells took (``--run``, a fresh kernel per notebook, 2-core machine).
RUN_SECONDS = {"01": 5, "02": 6, "03": 6, "04": 8, "05": 6, "06": 13, "07": 14, "08": 15, "09": 7, "10": 12}


def notebook(number: str) -> Path:
    return next(NOTEBOOKS.glob(f"{number}_*.ipynb"))


def core_words(path: Path) -> int:
    """Words a learner reads on the core path (markdown, and code cells other than checks and solutions)."""
    words = 0
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and OPTIONAL.search(source):
            words += len(source[: OPTIONAL.search(source).start()].split())
            break
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] == "code" and ("check" in tags or "solution" in tags):
            continue
        words += len(source.split())
    return words


def stated_minutes(path: Path) -> int:
    first = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])
    return int(STATED.search(first).group(1))


def estimate(number: str, run_seconds: float | None = None) -> dict:
    """Reading, running and exercise minutes of one notebook, and the total rounded to 5 minutes."""
    path = notebook(number)
    words = core_words(path)
    reading = words / WORDS_PER_MINUTE
    running = (RUN_SECONDS[number] if run_seconds is None else run_seconds) / 60
    exercises = sum(exercise.minutes for exercise in EXERCISES[number])
    total = reading + running + exercises
    return {"notebook": number, "words": words, "reading": reading, "running": running, "exercises": exercises,
            "total": total, "rounded": 5 * round(total / 5), "stated": stated_minutes(path)}


def measure_run_seconds(number: str) -> float:
    import nbformat
    from nbclient import NotebookClient

    path = notebook(number)
    nb = nbformat.read(path, as_version=4)
    start = time.monotonic()
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="store_true", help="run each notebook and use its measured time")
    parser.add_argument("--check", action="store_true", help="exit 1 if a notebook states another time")
    args = parser.parse_args(argv)
    rows = [estimate(n, measure_run_seconds(n) if args.run else None) for n in sorted(EXERCISES)]
    print(f"{'nb':<3} {'words':>6} {'reading':>8} {'running':>8} {'exercises':>10} {'total':>6} {'stated':>7}")
    for r in rows:
        print(f"{r['notebook']:<3} {r['words']:>6} {r['reading']:>7.1f}m {r['running']*60:>7.0f}s {r['exercises']:>9.1f}m "
              f"{r['total']:>5.0f}m {r['stated']:>6}m")
    for part, numbers in PARTS.items():
        total = sum(r["rounded"] for r in rows if r["notebook"] in numbers)
        span = numbers[0] if len(numbers) == 1 else f"{numbers[0]} to {numbers[-1]}"
        print(f"{part} ({span}): {total} min ({total // 60} h {total % 60:02d})")
    wrong = [r["notebook"] for r in rows if r["rounded"] != r["stated"]]
    if args.check and wrong:
        print("states another time than measured:", ", ".join(wrong), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
