"""The serving benchmark's verdicts and table (the measuring itself needs running servers)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest

from benchmarks.serving_benchmark import (
    TARGETS,
    Latency,
    Throughput,
    check_targets,
    render,
    throughput_speedup,
)


def result(
    api_p50: float = 20.0, c8_rate: float = 45.0, c32_errors: int = 0, rss: float | None = 250.0
) -> dict[str, Any]:
    throughput = [
        Throughput(concurrency=1, requests=64, images_per_s=40.0, errors=0, p50_ms=24.0),
        Throughput(concurrency=8, requests=64, images_per_s=c8_rate, errors=0, p50_ms=170.0),
        Throughput(concurrency=32, requests=256, images_per_s=44.0, errors=c32_errors, p50_ms=700.0),
    ]
    naive = Latency(n=40, p50_ms=100.0, p95_ms=110.0, p99_ms=120.0, errors=0)
    data: dict[str, Any] = {
        "api_latency": asdict(Latency(n=200, p50_ms=api_p50, p95_ms=30.0, p99_ms=60.0, errors=0)),
        "model_server_latency": asdict(Latency(n=200, p50_ms=12.0, p95_ms=14.0, p99_ms=16.0, errors=0)),
        "throughput": [asdict(t) for t in throughput],
        "naive_keras_predict": asdict(naive),
        "speedup_vs_naive": naive.p50_ms / api_p50,
        "throughput_speedup_vs_naive": throughput_speedup(throughput, naive),
        "model_server_rss_mb": rss,
        "api_rss_mb": 300.0,
    }
    data["passed"] = check_targets(data)
    return data


def test_throughput_speedup_compares_the_best_rate_with_the_naive_loop() -> None:
    naive = Latency(n=40, p50_ms=100.0, p95_ms=0, p99_ms=0, errors=0)  # 10 images/s
    rates = [
        Throughput(concurrency=c, requests=1, images_per_s=r, errors=0, p50_ms=1)
        for c, r in [(1, 30), (8, 55)]
    ]

    assert throughput_speedup(rates, naive) == pytest.approx(5.5)
    assert throughput_speedup(rates, None) is None


def test_every_target_is_judged() -> None:
    passed = result()["passed"]

    assert set(passed) == set(TARGETS)
    # 100 ms naive / 20 ms API is 5x: short of the 8x target; everything else is met.
    assert passed == {name: name != "speedup_vs_naive" for name in TARGETS}


@pytest.mark.parametrize(
    ("changes", "missed"),
    [
        ({"api_p50": 31.0}, "api_p50_ms"),
        ({"c8_rate": 39.9}, "throughput_c8_images_per_s"),
        ({"c32_errors": 1}, "errors_c32"),
        ({"rss": 301.0}, "model_server_rss_mb"),
    ],
)
def test_a_missed_target_is_reported(changes: dict[str, Any], missed: str) -> None:
    data = result(**changes)

    assert data["passed"][missed] is False
    assert f"{missed} MISSED" in render(data)


def test_an_unmeasured_memory_is_not_a_pass() -> None:
    data = result(rss=None)

    assert data["passed"]["model_server_rss_mb"] is None
    assert "model_server_rss_mb not measured" in render(data)
