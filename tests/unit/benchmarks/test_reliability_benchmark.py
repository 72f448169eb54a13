"""The reliability benchmark's bookkeeping: rows lost or unanswered, bad 5xx, recovery, targets,
and the near-limit upload it amplifies with."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from PIL import Image

from benchmarks.reliability_benchmark import (
    Answer,
    CaseResult,
    check_targets,
    first_ok_after,
    near_limit_png,
    post_photos,
    spread,
    summarise,
)


class NoWatch:
    peak_api = 300.0
    peak_model = 200.0


def case(name: str, **changes: object) -> CaseResult:
    values: dict[str, object] = {
        "name": name,
        "seconds": 1.0,
        "requests": 1,
        "statuses": {"200": 1},
        "bad_5xx": 0,
        "lost_rows": 0,
        "unanswered_rows": 0,
        "peak_api_mb": 300.0,
        "peak_model_server_mb": 200.0,
    }
    return CaseResult(**{**values, **changes})  # type: ignore[arg-type]


def test_rows_are_matched_against_the_answers() -> None:
    answers = [
        Answer(0.1, 200, ("a",)),
        Answer(0.2, 503, ()),
        Answer(0.3, 500, ()),
        Answer(0.4, None, ()),
        Answer(0.5, 200, ("b",)),
    ]
    result = summarise("load", answers, 1.0, stored={"a", "c"}, watch=NoWatch())  # type: ignore[arg-type]
    assert result.statuses == {"200": 2, "500": 1, "503": 1, "no answer": 1}
    assert (result.bad_5xx, result.lost_rows, result.unanswered_rows) == (1, 1, 1)
    assert (result.peak_api_mb, result.peak_model_server_mb) == (300.0, 200.0)


def test_recovery_is_the_first_200_after_the_dependency_is_back() -> None:
    answers = [Answer(1.0, 200, ("a",)), Answer(5.5, 503, ()), Answer(6.2, 200, ("b",))]
    assert first_ok_after(answers, 5.0) == 6.2 - 5.0
    assert first_ok_after(answers, 7.0) is None


def test_targets_are_judged_from_the_cases() -> None:
    good = [
        case(
            "load",
            idle_api_mb=100.0,
            settled_api_mb=110.0,
            idle_model_server_mb=100.0,
            settled_model_server_mb=119.0,
        ),
        case("model_server_restart", recovery_s=1.5),
        case("amplification", peak_api_mb=900.0, peak_model_server_mb=500.0),
    ]
    targets = check_targets(good)
    assert targets["no_5xx_but_honest_503"] is True
    assert targets["recovery_within_2_s"] is True
    assert targets["memory_back_within_20_percent_after_load"] is True
    assert targets["amplification_api_under_1_gb"] is True
    assert targets["memory_back_within_20_percent_after_amplification"] is None  # not measured

    bad = [
        case("load", bad_5xx=1, idle_api_mb=100.0, settled_api_mb=130.0),
        case("database_lock", recovery_s=None),
        case("amplification", lost_rows=2, peak_model_server_mb=700.0),
    ]
    targets = check_targets(bad)
    assert targets["no_5xx_but_honest_503"] is False
    assert targets["no_lost_rows"] is False
    assert targets["recovery_within_2_s"] is False
    assert targets["amplification_model_server_under_600_mb"] is False


def test_the_amplifying_upload_is_just_under_the_pixel_limit_and_small() -> None:
    data = near_limit_png(2_000_000, seed=0)
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    assert 0.9 * 2_000_000 < width * height <= 2_000_000
    assert len(data) < width * height  # far fewer bytes than pixels: the decoder does the work


class _Predict(BaseHTTPRequestHandler):
    """A stand-in API: 200 with two predictions (one refused) for /predict, 503 elsewhere."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        status = 200 if self.path == "/predict" else 503
        body = json.dumps({"predictions": [{"id": "p1"}, {"id": None}]}).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


def test_a_post_reports_the_status_and_the_ids_of_a_200() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Predict)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    upload = ("a.jpg", b"jpeg", "image/jpeg")
    try:
        with httpx.Client(timeout=5) as client:
            assert post_photos(client, base, [upload]) == (200, ("p1",))
            assert post_photos(client, f"{base}/elsewhere", [upload]) == (503, ())
    finally:
        server.shutdown()
        server.server_close()
    with httpx.Client(timeout=5) as client:
        assert post_photos(client, base, [upload]) == (None, ())  # nobody answers any more


def test_a_target_holds_only_when_every_run_meets_it_and_the_spread_spans_the_runs() -> None:
    first = case("amplification", peak_api_mb=600.0, peak_model_server_mb=500.0, run=1)
    second = case("amplification", peak_api_mb=700.0, peak_model_server_mb=650.0, run=2)
    assert check_targets([first])["amplification_model_server_under_600_mb"] is True
    assert check_targets([first, second])["amplification_model_server_under_600_mb"] is False
    unmeasured = case("amplification", peak_api_mb=None, run=3)
    assert check_targets([first, unmeasured])["amplification_api_under_1_gb"] is None

    rows = spread([first, second, case("load", requests=5)])
    assert [row["name"] for row in rows] == ["amplification", "load"]
    assert rows[0]["runs"] == 2
    assert rows[0]["peak_api_mb"] == [600.0, 700.0]
    assert rows[0]["recovery_s"] is None
