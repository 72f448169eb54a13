"""Benchmark: ingestion of the 400 reference photos from a URL list served by a local HTTP server.

    .venv/bin/python -m benchmarks.url_list_ingestion [--workers 8]

Serves ../shared/data/greenr on 127.0.0.1 (a free port), writes a `url,label` list of its 400
photos to a temporary folder, and times `python run.py --pipeline ingestion --source LIST` on a
fresh GREENR_HOME (embedded defaults) twice: the first run downloads and ingests everything, the
second downloads again and finds nothing new. Prints a table; writes
benchmarks/results/url_list_ingestion.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from greenr.settings import DEFAULT_SOURCE, REPO_ROOT

RESULTS = REPO_ROOT / "benchmarks" / "results" / "url_list_ingestion.json"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def timed_ingestion(listing: Path, home: Path, workers: int) -> tuple[float, str]:
    """Wall seconds of one ingestion run, and its summary line."""
    env = {**os.environ, "GREENR_HOME": str(home), "GREENR_DOWNLOAD_WORKERS": str(workers)}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "run.py", "--pipeline", "ingestion", "--source", str(listing)],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"ingestion failed: {result.stderr[-2000:]}")
    output = result.stdout + result.stderr
    summary = next((line.strip() for line in output.splitlines() if "new:" in line), "?")
    return elapsed, summary


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    handler = functools.partial(_QuietHandler, directory=str(DEFAULT_SOURCE))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            listing = Path(tmp) / "reference.csv"
            photos = sorted(DEFAULT_SOURCE.glob("*/*.jpg"))
            lines = [f"{base}/{p.parent.name}/{p.name},{p.parent.name}" for p in photos]
            listing.write_text("url,label\n" + "\n".join(lines) + "\n")
            first, first_summary = timed_ingestion(listing, Path(tmp) / "home", args.workers)
            second, second_summary = timed_ingestion(listing, Path(tmp) / "home", args.workers)
    finally:
        server.shutdown()
        server.server_close()
    report = {
        "photos": len(photos),
        "workers": args.workers,
        "first_run_seconds": round(first, 1),
        "first_run": first_summary,
        "second_run_seconds": round(second, 1),
        "second_run": second_summary,
    }
    print(f"{'run':<8}{'wall s':>8}  summary")
    print(f"{'first':<8}{first:>8.1f}  {first_summary}")
    print(f"{'second':<8}{second:>8.1f}  {second_summary}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
