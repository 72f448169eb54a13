"""serving.sessions: a run alone gets the parallel session, a concurrent run (or one next to another
request) the one-thread one."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from tiny_server_kit import mean_colour_model, tiny_metadata

from greenr.contracts import MODEL_INPUT_SIZE
from serving.inference import OnnxClassifier
from serving.sessions import AdaptiveSessions

METADATA = tiny_metadata(MODEL_INPUT_SIZE)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return mean_colour_model(tmp_path / "model.onnx")


def test_a_run_alone_gets_the_parallel_session_and_a_concurrent_one_the_serial(model: Path) -> None:
    sessions = AdaptiveSessions(model, intra_op_threads=2, spinning=True)
    assert sessions.parallel is not sessions.serial
    assert sessions.distinct == (sessions.parallel, sessions.serial)
    with sessions.for_one_run() as first:
        assert first is sessions.parallel
        with sessions.for_one_run() as second:
            assert second is sessions.serial
            with sessions.for_one_run() as third:
                assert third is sessions.serial
    # Every run ended: the next one is alone again.
    with sessions.for_one_run() as later:
        assert later is sessions.parallel


def test_a_run_next_to_another_request_being_handled_gets_the_serial_session(model: Path) -> None:
    """Another request decoding or encoding needs a core too: the run does not take both."""
    sessions = AdaptiveSessions(model, intra_op_threads=2, spinning=True)
    with sessions.handling(), sessions.for_one_run() as own_request_only:
        assert own_request_only is sessions.parallel
    handling, release = threading.Event(), threading.Event()

    def other_request() -> None:
        with sessions.handling():
            handling.set()
            release.wait(10)

    other = threading.Thread(target=other_request)
    other.start()
    try:
        assert handling.wait(10)
        with sessions.handling(), sessions.for_one_run() as next_to_it:
            assert next_to_it is sessions.serial
        with sessions.for_one_run() as outside_any_request:
            assert outside_any_request is sessions.serial
    finally:
        release.set()
        other.join()
    # The other request ended: a request alone gets every thread again.
    with sessions.handling(), sessions.for_one_run() as alone:
        assert alone is sessions.parallel


def test_a_run_that_fails_still_ends(model: Path) -> None:
    sessions = AdaptiveSessions(model, intra_op_threads=2, spinning=False)
    with pytest.raises(RuntimeError), sessions.for_one_run():
        raise RuntimeError("onnxruntime failed")
    with sessions.for_one_run() as session:
        assert session is sessions.parallel


def test_one_intra_op_thread_means_one_session(model: Path) -> None:
    sessions = AdaptiveSessions(model, intra_op_threads=1, spinning=True)
    assert sessions.serial is sessions.parallel
    assert sessions.distinct == (sessions.parallel,)
    with sessions.for_one_run() as first, sessions.for_one_run() as second:
        assert first is second is sessions.parallel


def _batches(count: int) -> list[npt.NDArray[np.float32]]:
    rng = np.random.default_rng(7)
    return [(rng.random((2, 224, 224, 3)) * 255).astype(np.float32) for _ in range(count)]


def test_both_sessions_give_the_same_answer(model: Path) -> None:
    classifier = OnnxClassifier(model, METADATA, intra_op_threads=2)
    sessions = classifier._sessions
    for batch in _batches(3):
        parallel = classifier._run_one(sessions.parallel, batch)[0]
        serial = classifier._run_one(sessions.serial, batch)[0]
        np.testing.assert_allclose(parallel, serial, rtol=0, atol=1e-6)


def test_concurrent_requests_get_the_answers_of_sequential_ones(model: Path) -> None:
    classifier = OnnxClassifier(model, METADATA, intra_op_threads=2)
    batches = _batches(8)
    expected = [classifier.probabilities(batch) for batch in batches]
    answers: list[tuple[int, npt.NDArray[np.float32]]] = []
    start = threading.Barrier(4)

    def classify(worker: int) -> None:
        start.wait()
        for round_ in range(20):
            index = (worker + round_) % len(batches)
            answers.append((index, classifier.probabilities(batches[index])))  # list.append is atomic

    threads = [threading.Thread(target=classify, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 80
    for index, answer in answers:
        np.testing.assert_allclose(answer, expected[index], rtol=0, atol=1e-6)
