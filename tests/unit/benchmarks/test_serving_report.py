"""The serving benchmark's verdicts and table (the measuring itself needs running servers)."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict
from typing import Any

import pytest

from benchmarks.serving_benchmark import (
    TARGETS,
    ColumnCost,
    Latency,
    Round,
    Throughput,
    added_share,
    check_targets,
    columns_end_to_end,
    combine,
    naive_service_speedup,
    render,
    speedup_by_layer,
    throughput_speedup,
)


def result(
    api_p50: float = 20.0,
    c8_rate: float = 45.0,
    c32_errors: int = 0,
    rss: float | None = 250.0,
    service_p50: float = 100.0,
    service_rate: float = 10.0,
    runtime_p50: float = 10.0,
    extras_p50: float = 1.0,
    api_columns_added: float = 0.5,
) -> dict[str, Any]:
    throughput = [
        Throughput(concurrency=1, requests=64, images_per_s=40.0, errors=0, p50_ms=24.0),
        Throughput(concurrency=8, requests=64, images_per_s=c8_rate, errors=0, p50_ms=170.0),
        Throughput(concurrency=32, requests=256, images_per_s=44.0, errors=c32_errors, p50_ms=700.0),
    ]
    naive = Latency(n=40, p50_ms=100.0, p95_ms=110.0, p99_ms=120.0, errors=0)
    api = Latency(n=200, p50_ms=api_p50, p95_ms=30.0, p99_ms=60.0, errors=0)
    server = Latency(n=200, p50_ms=12.0, p95_ms=14.0, p99_ms=16.0, errors=0)
    in_process = Latency(n=200, p50_ms=runtime_p50, p95_ms=11.0, p99_ms=12.0, errors=0)
    service = Latency(n=40, p50_ms=service_p50, p95_ms=service_p50 + 10, p99_ms=service_p50 + 20, errors=0)
    service_c8 = Throughput(concurrency=8, requests=64, images_per_s=service_rate, errors=0, p50_ms=800.0)
    extras = Latency(n=200, p50_ms=extras_p50, p95_ms=extras_p50 + 1, p99_ms=extras_p50 + 2, errors=0)
    without = Latency(n=200, p50_ms=3.0, p95_ms=4.0, p99_ms=5.0, errors=0)
    with_columns = dataclasses.replace(without, p50_ms=3.0 + api_columns_added)
    columns = ColumnCost(with_columns, without, api_columns_added)
    data: dict[str, Any] = {
        "api_latency": asdict(api),
        "model_server_latency": asdict(server),
        "onnx_in_process": asdict(in_process),
        "features_and_open_set_in_process": asdict(extras),
        "features_and_open_set_added_share": added_share(api, extras),
        "api_feature_columns_in_process": asdict(columns),
        "feature_columns_end_to_end": columns_end_to_end(api, extras, columns),
        "speedup_by_layer": speedup_by_layer(api, server, in_process, naive),
        "throughput": [asdict(t) for t in throughput],
        "naive_keras_predict": asdict(naive),
        "speedup_vs_naive": naive.p50_ms / api_p50,
        "throughput_speedup_vs_naive": throughput_speedup(throughput, naive),
        "naive_service_latency": asdict(service),
        "naive_service_throughput_c8": asdict(service_c8),
        "speedup_vs_naive_service": naive_service_speedup(api, throughput, service, service_c8),
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
    # Runtime 100 / 10 ms = 10x; naive service 100 / 20 ms = 5x and 45 / 10 images/s = 4.5x.
    assert passed == dict.fromkeys(TARGETS, True)


@pytest.mark.parametrize(
    ("changes", "missed"),
    [
        ({"api_p50": 31.0}, "api_p50_ms"),
        ({"c8_rate": 39.9}, "throughput_c8_images_per_s"),
        ({"c32_errors": 1}, "errors_c32"),
        ({"rss": 301.0}, "model_server_rss_mb"),
        ({"runtime_p50": 12.6}, "runtime_speedup_vs_keras_predict"),
        ({"service_p50": 79.0}, "api_p50_speedup_vs_naive_service"),
        ({"service_rate": 11.3}, "api_c8_speedup_vs_naive_service"),
        ({"extras_p50": 1.9}, "features_and_open_set_added_share"),
        ({"api_columns_added": 1.0}, "feature_columns_end_to_end_added_share"),
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


def test_speedup_by_layer_divides_the_naive_p50_by_each_layer() -> None:
    data = result(api_p50=25.0)

    assert data["speedup_by_layer"] == pytest.approx(
        {"onnx_in_process": 10.0, "model_server": 100 / 12, "api": 4.0}
    )
    table = render(data)
    assert "onnxruntime in-process, one image" in table
    assert "onnx_in_process 10.0x, model_server 8.3x, api 4.0x" in table


def test_without_the_naive_baseline_there_is_no_speed_up() -> None:
    latency = Latency(n=1, p50_ms=1.0, p95_ms=1.0, p99_ms=1.0, errors=0)

    assert speedup_by_layer(latency, latency, latency, None) is None


def _round(
    api_p50: float, rate_c8: float, naive_p50: float | None, errors: int = 0, paced_p50: float | None = None
) -> Round:
    def latency(p50: float) -> Latency:
        return Latency(n=10, p50_ms=p50, p95_ms=p50 + 5, p99_ms=p50 + 10, errors=errors)

    return Round(
        api=latency(api_p50),
        model_server=latency(api_p50 / 2),
        onnx_in_process=latency(api_p50 / 3),
        naive=None if naive_p50 is None else latency(naive_p50),
        throughput=[
            Throughput(concurrency=1, requests=64, images_per_s=rate_c8 / 2, errors=errors, p50_ms=api_p50),
            Throughput(concurrency=8, requests=64, images_per_s=rate_c8, errors=errors, p50_ms=8 * api_p50),
        ],
        api_paced=None if paced_p50 is None else latency(paced_p50),
    )


def test_rounds_combine_into_medians_and_errors_add_up() -> None:
    rounds = [_round(20.0, 50.0, 100.0), _round(30.0, 40.0, 90.0, errors=1), _round(24.0, 60.0, 110.0)]

    median = combine(rounds)

    assert (median.api.p50_ms, median.api.p99_ms, median.api.n, median.api.errors) == (24.0, 34.0, 30, 1)
    assert median.naive is not None
    assert median.naive.p50_ms == 100.0
    assert [t.concurrency for t in median.throughput] == [1, 8]
    assert median.throughput[1].images_per_s == 50.0
    assert median.throughput[1].requests == 192
    assert median.throughput[1].errors == 1


def test_rounds_without_the_naive_baseline_combine_to_none() -> None:
    assert combine([_round(20.0, 50.0, None), _round(22.0, 48.0, None)]).naive is None


def test_paced_rounds_combine_and_show_in_the_table() -> None:
    rounds = [_round(20.0, 50.0, 100.0, paced_p50=p50) for p50 in (31.0, 25.0, 40.0)]

    median = combine(rounds)

    assert median.api_paced is not None
    assert (median.api_paced.p50_ms, median.api_paced.n) == (31.0, 30)
    assert combine([_round(20.0, 50.0, 100.0), _round(20.0, 50.0, 100.0)]).api_paced is None
    data = result()
    data["api_latency_paced"] = asdict(median.api_paced)
    data["pace_seconds"] = 1.0
    table = render(data)
    assert "API, one image every 1 s" in table
    assert "every 1 s" not in render(result())


def test_the_api_is_compared_with_the_naive_service_side_by_side() -> None:
    data = result(api_p50=25.0, c8_rate=50.0, service_p50=110.0, service_rate=10.0)

    assert data["speedup_vs_naive_service"] == pytest.approx({"p50": 4.4, "images_per_s_c8": 5.0})
    table = render(data)
    assert "naive Keras service, one image" in table
    assert "API vs naive Keras service: 4.4x in p50 latency, 5.0x in images/s at concurrency 8" in table


def test_without_the_naive_service_its_targets_are_not_measured() -> None:
    data = result()
    data["speedup_vs_naive_service"] = None
    passed = check_targets(data)

    assert passed["api_p50_speedup_vs_naive_service"] is None
    assert passed["api_c8_speedup_vs_naive_service"] is None


def test_rounds_combine_the_naive_service_series() -> None:
    latency = Latency(n=10, p50_ms=100.0, p95_ms=110.0, p99_ms=120.0, errors=0)
    rate = Throughput(concurrency=8, requests=64, images_per_s=10.0, errors=0, p50_ms=800.0)
    rounds = [
        dataclasses.replace(_round(20.0, 50.0, 100.0), naive_service=latency, naive_service_c8=rate),
        dataclasses.replace(
            _round(20.0, 50.0, 100.0),
            naive_service=dataclasses.replace(latency, p50_ms=90.0),
            naive_service_c8=dataclasses.replace(rate, images_per_s=12.0),
        ),
        dataclasses.replace(
            _round(20.0, 50.0, 100.0),
            naive_service=dataclasses.replace(latency, p50_ms=130.0),
            naive_service_c8=dataclasses.replace(rate, images_per_s=9.0),
        ),
    ]
    median = combine(rounds)

    assert median.naive_service is not None
    assert median.naive_service_c8 is not None
    assert (median.naive_service.p50_ms, median.naive_service_c8.images_per_s) == (100.0, 10.0)
    assert combine([_round(20.0, 50.0, 100.0)]).naive_service is None


def test_the_features_and_open_set_cost_is_a_share_of_the_api_without_them() -> None:
    data = result(api_p50=22.0, extras_p50=2.0)

    assert data["features_and_open_set_added_share"] == pytest.approx(0.1)
    assert data["passed"]["features_and_open_set_added_share"] is True
    assert "features + open-set verdict, one image" in render(data)
    assert added_share(Latency(n=1, p50_ms=1.0, p95_ms=1.0, p99_ms=1.0, errors=0), None) is None


def test_rounds_combine_the_features_and_open_set_series() -> None:
    def with_extras(p50: float | None) -> Round:
        extras = None if p50 is None else Latency(n=10, p50_ms=p50, p95_ms=p50, p99_ms=p50, errors=0)
        return dataclasses.replace(_round(20.0, 50.0, 100.0), extras=extras)

    median = combine([with_extras(p50) for p50 in (2.0, 1.0, 3.0)])

    assert median.extras is not None
    assert (median.extras.p50_ms, median.extras.n) == (2.0, 30)
    assert combine([with_extras(None)]).extras is None


def test_the_feature_columns_end_to_end_add_both_parts_and_show_in_the_table() -> None:
    data = result(api_p50=20.0, extras_p50=1.0, api_columns_added=0.5)

    assert data["feature_columns_end_to_end"] == pytest.approx(
        {"model_server_ms": 1.0, "api_ms": 0.5, "added_ms": 1.5, "share": 1.5 / 18.5}
    )
    table = render(data)
    assert "API's work on the answer, with columns" in table
    assert "feature columns end to end: 1.50 ms per image (model server 1.00, API 0.50), 8.1% of" in table
    latency = Latency(n=1, p50_ms=1.0, p95_ms=1.0, p99_ms=1.0, errors=0)
    assert columns_end_to_end(latency, None, None) is None
    passed = check_targets({**data, "feature_columns_end_to_end": None})
    assert passed["feature_columns_end_to_end_added_share"] is None


def test_rounds_combine_the_column_costs_into_medians() -> None:
    def cost(added: float) -> ColumnCost:
        def latency(p50: float) -> Latency:
            return Latency(n=10, p50_ms=p50, p95_ms=p50, p99_ms=p50, errors=0)

        return ColumnCost(latency(3.0 + added), latency(3.0), added)

    rounds = [
        dataclasses.replace(_round(20.0, 50.0, None), api_columns=cost(added)) for added in (0.4, 0.9, 0.5)
    ]

    median = combine(rounds)

    assert median.api_columns is not None
    assert median.api_columns.added_p50_ms == 0.5
    assert (median.api_columns.with_columns.p50_ms, median.api_columns.with_columns.n) == (3.5, 30)
    assert combine([_round(20.0, 50.0, None)]).api_columns is None
