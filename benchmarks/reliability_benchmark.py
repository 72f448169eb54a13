"""Reliability benchmark (issue 12): load and faults against the running local servers.

    bash scripts/quickstart.sh                     # the API, the model server, a champion
    .venv/bin/python -m benchmarks.reliability_benchmark [--clients 32] [--seconds 60]
                                                         [--settle 60] [--cases load,...] [--repeats 3]

Cases, one after the other, each with its own clients posting one real photo per request, the
whole sequence `--repeats` times (3) so the table shows each figure's spread and a target counts
only when every run meets it:
- `load`: `--clients` clients for `--seconds`;
- `model_server_restart`: 8 clients; the model server is stopped (`python -m greenr.deployment
  stop`) and started again under load;
- `database_lock`: 8 clients; the catalog is locked for 5 s (SQLite `BEGIN EXCLUSIVE`, PostgreSQL
  `LOCK TABLE predictions`) and released;
- `api_kill`: 8 clients; the API's process group gets SIGKILL and is started again
  (`python -m greenr.api.daemon start`);
- `amplification`: 16 concurrent requests of two near-limit PNGs each (GREENR_MAX_IMAGE_PIXELS).
For each: responses by status (and connection errors while the API was down), 5xx other than
503, rows lost (a 200's prediction id not in the catalog) and rows stored for requests that got no
200 (recorded, but the answer never reached the client: the API died after committing), peak
resident memory of the API and model server process trees, and the recovery time: from the
dependency being back (the start command returned, the lock released) to the first 200. After
`load` and `amplification` the servers idle `--settle` seconds and their memory is compared with
its idle value before the case.

Targets (issue 12): 0 5xx other than honest 503s, 0 lost rows, recovery within 2 s of a
dependency returning, peak API memory under 1 GB and model server under 600 MB in the
amplification case, memory back within 20 % of idle a minute after load. Prints a table and
writes benchmarks/results/reliability.json. Report only measured numbers.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from benchmarks.clean_tree import add_allow_dirty, measured_commit
from benchmarks.serving_benchmark import benchmark_key, model_server_pid_file, photos, tree_rss_mb
from greenr.api.daemon import api_daemon
from greenr.api.keys.tokens import parse_token
from greenr.catalog import schema
from greenr.settings import REPO_ROOT, Settings, get_settings
from greenr.supervision.daemon import running_pid

RESULTS = REPO_ROOT / "benchmarks" / "results" / "reliability.json"
CASES = ("load", "model_server_restart", "database_lock", "api_kill", "amplification")


@dataclass(frozen=True)
class Answer:
    """One request's outcome, `at` seconds after its case started."""

    at: float
    status: int | None  # None: no HTTP answer (connection refused or reset)
    ids: tuple[str, ...]


@dataclass
class CaseResult:
    name: str
    seconds: float
    requests: int
    statuses: dict[str, int]
    bad_5xx: int
    lost_rows: int
    unanswered_rows: int
    peak_api_mb: float | None
    peak_model_server_mb: float | None
    recovery_s: float | None = None
    settled_api_mb: float | None = None
    settled_model_server_mb: float | None = None
    idle_api_mb: float | None = None
    idle_model_server_mb: float | None = None
    notes: list[str] = field(default_factory=list)
    run: int = 1  # which repeat of the benchmark (--repeats)


Upload = tuple[str, bytes, str]


def post_photos(client: httpx.Client, api: str, uploads: list[Upload]) -> tuple[int | None, tuple[str, ...]]:
    """POST /predict; the status (None: no HTTP answer) and the prediction ids of a 200."""
    try:
        response = client.post(f"{api}/predict", files=[("files", upload) for upload in uploads])
    except httpx.TransportError:
        return None, ()
    if response.status_code != 200:
        return response.status_code, ()
    return 200, tuple(item["id"] for item in response.json()["predictions"] if item["id"])


class Clients:
    """`count` threads posting one photo per request until stopped; every answer is kept."""

    def __init__(self, api: str, key: str, count: int, payloads: list[Upload]) -> None:
        self.api, self.key, self.count, self.payloads = api, key, count, payloads
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started = 0.0

    def _run(self, index: int) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(timeout=httpx.Timeout(30.0, connect=2.0), headers=headers) as client:
            turn = index
            while not self._stop.is_set():
                status, ids = post_photos(client, self.api, [self.payloads[turn % len(self.payloads)]])
                turn += self.count
                if status is None:
                    time.sleep(0.1)  # the API is down: do not spin
                with self._lock:
                    self.answers.append(Answer(time.monotonic() - self.started, status, ids))

    def __enter__(self) -> Clients:
        self.started = time.monotonic()
        self._threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(self.count)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def now(self) -> float:
        return time.monotonic() - self.started


class MemoryWatch:
    """Peak resident memory of the API's and the model server's process trees, sampled every 0.2 s."""

    def __init__(self, settings: Settings) -> None:
        self.api_pid_file = api_daemon(settings).pid_file
        self.model_pid_file = model_server_pid_file(settings.home)
        self.peak_api: float | None = None
        self.peak_model: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> tuple[float | None, float | None]:
        return tree_rss_mb(self.api_pid_file), tree_rss_mb(self.model_pid_file)

    def _run(self) -> None:
        while not self._stop.is_set():
            api, model = self.sample()
            if api is not None:
                self.peak_api = max(self.peak_api or 0.0, api)
            if model is not None:
                self.peak_model = max(self.peak_model or 0.0, model)
            time.sleep(0.2)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def python(*args: str) -> subprocess.CompletedProcess[str]:
    """`python ARGS` from the repository root with this environment; fails loudly."""
    result = subprocess.run(
        [sys.executable, *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {(result.stdout + result.stderr)[-2000:]}")
    return result


def first_ok_after(answers: list[Answer], moment: float) -> float | None:
    """Seconds from `moment` to the first 200 answered after it."""
    times = [a.at for a in answers if a.status == 200 and a.at >= moment]
    return min(times) - moment if times else None


def stored_ids(settings: Settings, key_id: str, since: datetime) -> set[str]:
    engine = create_engine(settings.catalog_url)
    try:
        with Session(engine) as session:
            query = select(schema.Prediction.id).where(
                schema.Prediction.api_key_id == key_id, schema.Prediction.created_at >= since
            )
            return set(session.scalars(query))
    finally:
        engine.dispose()


def summarise(
    name: str,
    answers: list[Answer],
    seconds: float,
    stored: set[str],
    watch: MemoryWatch,
) -> CaseResult:
    statuses = Counter("no answer" if a.status is None else str(a.status) for a in answers)
    returned = {pid for a in answers for pid in a.ids}
    return CaseResult(
        name=name,
        seconds=round(seconds, 1),
        requests=len(answers),
        statuses=dict(sorted(statuses.items())),
        bad_5xx=sum(1 for a in answers if a.status is not None and a.status >= 500 and a.status != 503),
        lost_rows=len(returned - stored),
        unanswered_rows=len(stored - returned),
        peak_api_mb=watch.peak_api,
        peak_model_server_mb=watch.peak_model,
    )


@contextmanager
def catalog_locked(settings: Settings) -> Iterator[None]:
    """Hold a lock that blocks every write to the catalog's predictions."""
    url = settings.catalog_url
    if url.startswith("sqlite"):
        database = sqlite3.connect(url.split("///", 1)[1], timeout=10, isolation_level=None)
        database.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            database.execute("ROLLBACK")
            database.close()
        return
    engine = create_engine(url)
    try:
        with engine.connect() as connection, connection.begin():
            connection.execute(text("LOCK TABLE predictions IN ACCESS EXCLUSIVE MODE"))
            yield
    finally:
        engine.dispose()


def near_limit_png(pixels: int, seed: int) -> bytes:
    """A PNG just under `pixels` pixels that compresses small (a smooth gradient with a little noise),
    the upload that costs the decoder the most per byte."""
    side = int((pixels * 0.98) ** 0.5)
    ramp = np.linspace(0, 255, side).astype(np.uint16)
    image = np.empty((side, side, 3), dtype=np.uint8)  # built in place: ~120 MB at 40 Mpx, not 4x that
    image[..., 0] = (ramp[:, None] + ramp[None, :]) // 2
    image[..., 1] = ramp[None, :]
    image[..., 2] = 90
    image[:: 97 + seed, :: 89 + seed] = 200
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    return buffer.getvalue()


def with_load(
    settings: Settings,
    key: str,
    name: str,
    clients: int,
    seconds: float,
    payloads: list[Upload],
    fault: Callable[[Clients], float | None] | None = None,
) -> CaseResult:
    """Run `clients` for `seconds` (the fault, if any, runs meanwhile and returns when its
    dependency was back, in case seconds); count answers, rows and memory."""
    key_id = parse_token(key).key_id  # type: ignore[union-attr]
    since = datetime.now(UTC) - timedelta(seconds=1)
    back: float | None = None
    with MemoryWatch(settings) as watch, Clients(settings.api, key, clients, payloads) as load:
        if fault is not None:
            time.sleep(5)
            back = fault(load)
        remaining = seconds - load.now()
        if remaining > 0:
            time.sleep(remaining)
        elapsed = load.now()
    time.sleep(2)  # requests in flight at the stop are answered and recorded
    result = summarise(name, load.answers, elapsed, stored_ids(settings, key_id, since), watch)
    if back is not None:
        result.recovery_s = first_ok_after(load.answers, back)
    return result


def settle(
    result: CaseResult, watch_settings: Settings, idle: tuple[float | None, float | None], wait: float
) -> None:
    result.idle_api_mb, result.idle_model_server_mb = idle
    time.sleep(wait)
    result.settled_api_mb, result.settled_model_server_mb = MemoryWatch(watch_settings).sample()


def model_server_restart(load: Clients) -> float:
    python("-m", "greenr.deployment", "stop")
    time.sleep(5)
    python("-m", "greenr.deployment", "start")
    return load.now()


def database_lock(settings: Settings) -> Callable[[Clients], float]:
    def fault(load: Clients) -> float:
        with catalog_locked(settings):
            time.sleep(5)
        return load.now()

    return fault


def api_kill(settings: Settings) -> Callable[[Clients], float]:
    def fault(load: Clients) -> float:
        pid = running_pid(api_daemon(settings))
        if pid is None:
            raise RuntimeError("the API is not running: start it with scripts/api_server.sh start")
        os.killpg(os.getpgid(pid), signal.SIGKILL)
        time.sleep(2)
        python("-m", "greenr.api.daemon", "start")
        return load.now()

    return fault


def amplification(settings: Settings, key: str) -> CaseResult:
    """16 concurrent requests of two near-limit PNGs each, once."""
    key_id = parse_token(key).key_id  # type: ignore[union-attr]
    since = datetime.now(UTC) - timedelta(seconds=1)
    pngs = [near_limit_png(settings.max_image_pixels, seed) for seed in range(2)]
    answers: list[Answer] = []
    lock = threading.Lock()
    started = time.monotonic()

    def send(index: int) -> None:
        uploads = [(f"big-{index}-{i}.png", png, "image/png") for i, png in enumerate(pngs)]
        with httpx.Client(timeout=300, headers={"Authorization": f"Bearer {key}"}) as client:
            status, ids = post_photos(client, settings.api, uploads)
        with lock:
            answers.append(Answer(time.monotonic() - started, status, ids))

    with MemoryWatch(settings) as watch:
        threads = [threading.Thread(target=send, args=(i,)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
    result = summarise(
        "amplification", answers, time.monotonic() - started, stored_ids(settings, key_id, since), watch
    )
    result.notes.append(
        f"2 PNGs of {len(pngs[0]) / 1e6:.2f} MB each, {settings.max_image_pixels * 0.98 / 1e6:.1f} Mpx"
    )
    return result


def check_targets(cases: list[CaseResult]) -> dict[str, bool | None]:
    """Every target over every case of every run: a target is met only when each repeat meets it."""
    recoveries = [case.recovery_s for case in cases if case.name in ("model_server_restart", "database_lock")]
    amplified = [case for case in cases if case.name == "amplification"]

    def settled_within(case: CaseResult) -> bool | None:
        if None in (case.settled_api_mb, case.idle_api_mb):
            return None
        pairs = [
            (case.settled_api_mb, case.idle_api_mb),
            (case.settled_model_server_mb, case.idle_model_server_mb),
        ]
        return all(s is not None and i is not None and s <= 1.2 * i for s, i in pairs)

    def each(verdicts: list[bool | None]) -> bool | None:
        if False in verdicts:
            return False
        return None if not verdicts or None in verdicts else True

    return {
        "no_5xx_but_honest_503": all(case.bad_5xx == 0 for case in cases),
        "no_lost_rows": all(case.lost_rows == 0 for case in cases),
        "recovery_within_2_s": (
            None if not recoveries else all(r is not None and r <= 2.0 for r in recoveries)
        ),
        "amplification_api_under_1_gb": each(
            [None if case.peak_api_mb is None else case.peak_api_mb < 1000 for case in amplified]
        ),
        "amplification_model_server_under_600_mb": each(
            [
                None if case.peak_model_server_mb is None else case.peak_model_server_mb < 600
                for case in amplified
            ]
        ),
        "memory_back_within_20_percent_after_load": each(
            [settled_within(case) for case in cases if case.name == "load"]
        ),
        "memory_back_within_20_percent_after_amplification": each(
            [settled_within(case) for case in amplified]
        ),
    }


def spread(cases: list[CaseResult]) -> list[dict[str, Any]]:
    """Per case name, over the repeats: min and max of the figures a rerun should reproduce."""
    rows = []
    for name in dict.fromkeys(case.name for case in cases):
        same = [case for case in cases if case.name == name]
        row: dict[str, Any] = {"name": name, "runs": len(same)}
        for figure in (
            "requests",
            "bad_5xx",
            "lost_rows",
            "recovery_s",
            "peak_api_mb",
            "peak_model_server_mb",
        ):
            values = [getattr(case, figure) for case in same if getattr(case, figure) is not None]
            row[figure] = [min(values), max(values)] if values else None
        rows.append(row)
    return rows


def render(result: dict[str, Any]) -> str:
    def mb(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    def span(pair: list[float] | None, digits: int = 0) -> str:
        return "-" if pair is None else f"{pair[0]:.{digits}f}-{pair[1]:.{digits}f}"

    lines = [
        "| run | case | requests | answers by status | 5xx (not 503) | rows lost | rows unanswered "
        "| peak API MB | peak model server MB | recovery s | idle -> settled API MB "
        "| idle -> settled model server MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for case in result["cases"]:
        statuses = ", ".join(f"{k}: {v}" for k, v in case["statuses"].items())
        recovery = "-" if case["recovery_s"] is None else f"{case['recovery_s']:.2f}"
        lines.append(
            f"| {case['run']} | {case['name']} | {case['requests']} | {statuses} | {case['bad_5xx']} "
            f"| {case['lost_rows']} "
            f"| {case['unanswered_rows']} | {mb(case['peak_api_mb'])} | {mb(case['peak_model_server_mb'])} "
            f"| {recovery} | {mb(case['idle_api_mb'])} -> {mb(case['settled_api_mb'])} "
            f"| {mb(case['idle_model_server_mb'])} -> {mb(case['settled_model_server_mb'])} |"
        )
    lines += [
        "",
        "Spread over the runs (min-max):",
        "",
        "| case | runs | requests | 5xx (not 503) | rows lost "
        "| recovery s | peak API MB | peak model server MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in result["spread"]:
        lines.append(
            f"| {row['name']} | {row['runs']} | {span(row['requests'])} | {span(row['bad_5xx'])} "
            f"| {span(row['lost_rows'])} | {span(row['recovery_s'], 2)} | {span(row['peak_api_mb'])} "
            f"| {span(row['peak_model_server_mb'])} |"
        )
    lines.append("")
    lines += [
        f"- {name}: {'met' if ok else 'MISSED' if ok is False else 'not measured'}"
        for name, ok in result["targets"].items()
    ]
    return "\n".join(lines)


def run_case(
    case: str, settings: Settings, key: str, args: argparse.Namespace, payloads: list[Upload]
) -> CaseResult:
    idle = MemoryWatch(settings).sample()
    if case == "load":
        result = with_load(settings, key, case, args.clients, args.seconds, payloads)
        settle(result, settings, idle, args.settle)
    elif case == "model_server_restart":
        result = with_load(settings, key, case, 8, 30, payloads, model_server_restart)
    elif case == "database_lock":
        result = with_load(settings, key, case, 8, 20, payloads, database_lock(settings))
    elif case == "api_kill":
        result = with_load(settings, key, case, 8, 30, payloads, api_kill(settings))
    else:
        result = amplification(settings, key)
        settle(result, settings, idle, args.settle)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=60.0, help="idle seconds before the settled memory")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--repeats", type=int, default=3, help="runs of every case, for the spread")
    add_allow_dirty(parser)
    args = parser.parse_args(argv)
    commit = measured_commit(args.allow_dirty)
    cases = [case for case in args.cases.split(",") if case]
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}: choose from {', '.join(CASES)}")

    settings = get_settings()
    try:
        httpx.get(f"{settings.api}/health/ready", timeout=5).raise_for_status()
    except httpx.HTTPError as error:
        print(
            f"error: the API at {settings.api} is not ready ({error}): run bash scripts/quickstart.sh first",
            file=sys.stderr,
        )
        return 1
    key = benchmark_key(settings)
    payloads = [(path.name, path.read_bytes(), "image/jpeg") for path in photos(40)]
    started = datetime.now(UTC)
    results: list[CaseResult] = []
    for run in range(1, args.repeats + 1):
        for case in cases:
            print(f"reliability: run {run}/{args.repeats}: {case} ...", flush=True)
            result = run_case(case, settings, key, args, payloads)
            result.run = run
            results.append(result)
    document = {
        "benchmark": "reliability",
        "started": started.isoformat(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "git_commit": commit,
        "settings": {
            "repeats": args.repeats,
            "clients": args.clients,
            "seconds": args.seconds,
            "settle_seconds": args.settle,
            "catalog": settings.catalog_url.split(":", 1)[0],
            "max_image_pixels": settings.max_image_pixels,
            "max_concurrent_decodes": settings.max_concurrent_decodes,
        },
        "cases": [asdict(result) for result in results],
    }
    document["spread"] = spread(results)
    document["targets"] = check_targets(results)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=1) + "\n")
    print(render(document))
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
