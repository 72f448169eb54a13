"""The onnxruntime sessions of one model, and which of them a run uses.

A photo alone on the server runs fastest on all intra-op threads; two runs at once, each on all
threads, fight over the two cores (and their threads spin while they wait). So a run goes to the
parallel session when no other run is in flight, and to a one-thread session otherwise: under
concurrent load every request thread then has its own core. Measured on 2 cores with the trained
model, two threads looping runs: 165 images/s and 12.0 ms CPU per image on one-thread sessions,
against 104-127 images/s and 15.6-19.1 ms on the 2-thread spinning session; one run alone took
6.6-9.4 ms on the 2-thread session and 12.0 ms on one thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def create_session(model_path: Path, intra_op_threads: int, spinning: bool) -> Any:
    """An onnxruntime CPU session with the model server's options."""
    # Imported here so that importing this module stays cheap and side-effect free.
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    # One graph, run node after node: inter-op parallelism only adds threads on 2 cores.
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # See serving.config.DEFAULT_INTRA_OP_SPINNING for why and what it costs.
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    # Spin inside a run only, not after it returns, while the request thread encodes the answer
    # and gunicorn reads the next request. Measured through the API on 2 cores (3 alternating
    # runs each, trained model): model-server CPU per image at concurrency 1 20.8-22.3 ms with
    # it, 30.0-33.8 ms without; images/s at concurrency 1 and 8 and latency unchanged (noise).
    options.add_session_config_entry("session.force_spinning_stop", "1")
    # onnxruntime's CPU memory arena keeps the peak of the largest run forever (2.5 GB after two
    # threads ran batches of 32), so runs take one image at a time (OnnxClassifier.run): the arena
    # then holds at most one image's activations per session. Measured on 2 cores with the
    # trained model, two threads classifying batches of 32: arena + one image per run 74.7
    # images/s and 191 MB resident; no arena + whole batch per run 49.2 images/s and 406 MB.
    options.enable_cpu_mem_arena = True
    options.log_severity_level = 3  # errors only: ORT's warnings about unused initializers are noise
    return ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])


class AdaptiveSessions:
    """A parallel session for a run that is alone, a one-thread session for concurrent runs.

    "Alone" means no other run in flight and no other request being handled (`handling`): a
    request that is decoding its photo or encoding its answer needs a core too, and a parallel
    run next to it spins on that core. Measured through the API at concurrency 8 on 2 cores
    (process CPU over 400 requests, same model and API, 2026-11-30): counting runs only, the
    model server used 20.0-20.1 ms of CPU per image (2 runs); counting requests too, 17.7-18.7
    (3 runs), and 68-73 instead of 67 images/s. A request alone (a person's photo) still gets
    every thread: API p50 at concurrency 1 19.5-20.2 ms, as before.

    With `intra_op_threads` 1 both are the same session. `InferenceSession.run` is thread-safe
    (onnxruntime documents concurrent Run calls on one session as supported), so two concurrent
    runs that both land on the one-thread session need no lock.
    """

    def __init__(self, model_path: Path, intra_op_threads: int, spinning: bool) -> None:
        self.parallel: Any = create_session(model_path, intra_op_threads, spinning)
        self.serial: Any = (
            self.parallel if intra_op_threads == 1 else create_session(model_path, 1, spinning=False)
        )
        self._lock = threading.Lock()
        self._in_flight = 0
        self._handling = 0
        self._inside = threading.local()  # whether this thread is inside `handling`

    @property
    def distinct(self) -> tuple[Any, ...]:
        """Each session once: what a check or a warm-up has to run."""
        return (self.parallel,) if self.serial is self.parallel else (self.parallel, self.serial)

    @contextmanager
    def handling(self) -> Iterator[None]:
        """A request being handled: while the block runs, other requests' runs are not alone."""
        with self._lock:
            self._handling += 1
        self._inside.handling = True
        try:
            yield
        finally:
            self._inside.handling = False
            with self._lock:
                self._handling -= 1

    @contextmanager
    def for_one_run(self) -> Iterator[Any]:
        """The session for the run about to start; it counts as in flight until the block ends.

        Busy when another run is in flight or another request is being handled (the caller's own
        request, when it is inside `handling`, does not count)."""
        own = 1 if getattr(self._inside, "handling", False) else 0
        with self._lock:
            busy = self._in_flight > 0 or self._handling > own
            self._in_flight += 1
        try:
            yield self.serial if busy else self.parallel
        finally:
            with self._lock:
                self._in_flight -= 1
