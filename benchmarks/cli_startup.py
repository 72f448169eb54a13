"""Benchmark: wall time of the project's command-line entry points, up to where their work starts.

    .venv/bin/python -m benchmarks.cli_startup [--repeats 3] [--label after] [--allow-dirty]

Runs each command as the tests and users do (`python run.py ...`, `python -m ...` from the
repository root, in a subprocess) on embedded defaults in a scratch GREENR_HOME, `--repeats`
times, and checks its exit status. "fresh home" commands get a new GREENR_HOME each time (every
integration test starts from one: ZenML creates its store then); the others run on a home where
the local stack is already registered. The training and deployment runs find no dataset and no
champion: they measure imports, ZenML set-up, compiling and starting the pipeline and its first
step, not training. Prints a table (median, min, max seconds); writes
benchmarks/results/cli_startup-LABEL.json with the commit measured (a work tree with uncommitted
changes is refused unless --allow-dirty).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.clean_tree import add_allow_dirty, measured_commit
from greenr.settings import REPO_ROOT

RESULTS = REPO_ROOT / "benchmarks" / "results"
REGISTER = ("-m", "stacks", "register", "--stack", "local", "--activate", "local")


@dataclass(frozen=True)
class Command:
    """One entry point as run; `fresh` gives every repeat a new GREENR_HOME."""

    name: str
    args: tuple[str, ...]
    exit_status: int
    fresh: bool = False


COMMANDS = (
    Command("run.py --help", ("run.py", "--help"), 0),
    Command("python -m stacks register (fresh home)", REGISTER, 0, fresh=True),
    Command("python -m stacks register (again)", REGISTER, 0),
    Command("python -m greenr.deployment status", ("-m", "greenr.deployment", "status"), 3),
    Command("python -m greenr.registry show", ("-m", "greenr.registry", "show"), 0),
    Command("run.py --pipeline training (no dataset)", ("run.py", "--pipeline", "training"), 1),
    Command("run.py --pipeline deployment (no champion)", ("run.py", "--pipeline", "deployment"), 1),
)


def environment(home: Path) -> dict[str, str]:
    """This process's environment without the project's settings, GREENR_HOME=home."""
    own = ("GREENR_", "AWS_", "MLFLOW_", "MODEL_", "ZENML_")
    base = {key: value for key, value in os.environ.items() if not key.startswith(own)}
    return {**base, "GREENR_HOME": str(home)}


def timed(command: Command, home: Path) -> float:
    """Wall seconds of one run; exits when the command's status is not the expected one."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, *command.args],
        env=environment(home),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != command.exit_status:
        raise SystemExit(
            f"{command.name}: exit status {result.returncode}, expected {command.exit_status}:\n"
            f"{result.stderr[-3000:]}"
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--label", default="current", help="names the results file")
    parser.add_argument(
        "--output", type=Path, help="results file (default: benchmarks/results/cli_startup-LABEL.json)"
    )
    add_allow_dirty(parser)
    args = parser.parse_args()
    commit = measured_commit(args.allow_dirty)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ready = Path(tmp) / "ready"
        timed(COMMANDS[1], ready)  # the local stack, registered once for the other commands
        for command in COMMANDS:
            seconds = [
                timed(command, Path(tmp) / f"fresh-{index}" if command.fresh else ready)
                for index in range(args.repeats)
            ]
            rows.append(
                {
                    "command": command.name,
                    "median_seconds": round(statistics.median(seconds), 2),
                    "min_seconds": round(min(seconds), 2),
                    "max_seconds": round(max(seconds), 2),
                    "runs_seconds": [round(s, 2) for s in seconds],
                }
            )
            print(f"{command.name:<48}{rows[-1]['median_seconds']:>8.2f}", flush=True)
    print(f"\n{'command':<48}{'median s':>9}{'min':>7}{'max':>7}")
    for row in rows:
        print(
            f"{row['command']:<48}{row['median_seconds']:>9.2f}{row['min_seconds']:>7.2f}{row['max_seconds']:>7.2f}"
        )
    output = args.output or RESULTS / f"cli_startup-{args.label}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "label": args.label,
        "git_commit": commit,
        "repeats": args.repeats,
        "load_average": os.getloadavg(),
        "commands": rows,
    }
    output.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
