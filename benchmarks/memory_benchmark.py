"""Memory benchmark of the pixel-limit amplification of issue 12 (part 7), for one checkout of the code.

    .venv/bin/python -m benchmarks.memory_benchmark [--code DIR] [--requests 16] [--label NAME]

Two measurements, each in fresh processes running the code of `--code` (default: this checkout),
so a branch and `main` can be compared with the same script:
- the API (`python -m greenr.api`, its own GREENR_HOME, a model-server URL nobody listens on: every
  image is fully checked, then the model call fails at once with 503), receiving `--requests`
  concurrent POST /predict, each with two near-limit PNGs (6300 x 6300, 39.7 megapixels, ~0.2 MB
  each): peak and retained resident memory of the process, and the statuses answered;
- the model server's decoding (`serving.inference.decode_batch`, what a prediction runs before the
  model) of one such image, 3 times in a request thread of a fresh interpreter: peak and retained
  resident memory.
Prints a table and writes benchmarks/results/memory-<label>.json. Report only measured numbers.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
from PIL import Image

from greenr.settings import REPO_ROOT

RESULTS = REPO_ROOT / "benchmarks" / "results"
SIDE = 6300  # 39.7 megapixels: just under GREENR_MAX_IMAGE_PIXELS (40000000)
MB = 1024 * 1024


def near_limit_png() -> bytes:
    """A smooth 6300 x 6300 RGB picture: tiny as a PNG, 119 MB once decoded."""
    ramp = np.linspace(0, 255, SIDE, dtype=np.uint8)
    pixels = np.stack(
        [np.tile(ramp, (SIDE, 1)), np.tile(ramp[:, None], (1, SIDE)), np.full((SIDE, SIDE), 90)], -1
    )
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class RssSampler:
    """Samples a process's resident memory every 20 ms in a thread; keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def measure_api(code: Path, requests: int, png: bytes) -> dict[str, Any]:
    """Start the API of `code`, send the concurrent requests, return memory and statuses."""
    port = free_port()
    with tempfile.TemporaryDirectory() as home:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("GREENR_", "AWS_"))} | {
            "GREENR_HOME": home,
            "GREENR_API_PORT": str(port),
            "GREENR_MODEL_SERVER_URL": f"http://127.0.0.1:{free_port()}",
            "PYTHONPATH": str(code),
        }
        log = Path(home) / "api.log"
        with log.open("wb") as sink:
            server = subprocess.Popen(
                [sys.executable, "-m", "greenr.api"], cwd=code, env=env, stdout=sink, stderr=sink
            )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    httpx.get(f"{url}/health", timeout=2)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError(f"the API did not start: {log.read_text()[-2000:]}") from None
                    time.sleep(0.2)
            started_rss = psutil.Process(server.pid).memory_info().rss

            def predict(index: int) -> str:
                files = [("files", (f"big-{index}-{n}.png", png, "image/png")) for n in range(2)]
                response = httpx.post(f"{url}/predict", files=files, timeout=300)
                error = response.json().get("error") or {}
                return f"{response.status_code} {error.get('code', '')}".strip()

            began = time.monotonic()
            with RssSampler(server.pid) as sampler, ThreadPoolExecutor(max_workers=requests) as pool:
                statuses = list(pool.map(predict, range(requests)))
            elapsed = time.monotonic() - began
            time.sleep(2)
            retained = psutil.Process(server.pid).memory_info().rss
        finally:
            server.terminate()
            server.wait(timeout=60)
    return {
        "requests": requests,
        "statuses": dict(sorted(Counter(statuses).items())),
        "seconds": round(elapsed, 2),
        "rss_start_mb": round(started_rss / MB),
        "rss_peak_mb": round(sampler.peak / MB),
        "rss_retained_mb": round(retained / MB),
    }


def decode_child(png_path: Path) -> None:
    """In a fresh interpreter: decode one near-limit image 3 times as the model server does, print memory.

    In a request thread, as gunicorn's threads run it, and more than once: glibc serves the first
    large blocks from fresh mappings and keeps later ones in its heaps.
    """
    from serving.inference import decode_batch

    data = png_path.read_bytes()
    before = psutil.Process().memory_info().rss

    def work() -> None:
        for _ in range(3):
            decode_batch([data], 40_000_000, 224)

    # ru_maxrss would include the parent's peak (Linux keeps it across exec): sample instead.
    with RssSampler(os.getpid()) as sampler:
        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
    retained = psutil.Process().memory_info().rss
    print(
        json.dumps(
            {
                "rss_before_mb": round(before / MB),
                "rss_peak_mb": round(sampler.peak / MB),
                "rss_retained_mb": round(retained / MB),
            }
        )
    )


def measure_decode(code: Path, png: bytes) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.png"
        path.write_bytes(png)
        result = subprocess.run(
            # This file run as a script: `code` may be a checkout without it (main, before).
            [sys.executable, str(Path(__file__).resolve()), "--decode-child", str(path)],
            cwd=code,
            env=os.environ | {"PYTHONPATH": str(code)},
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
    decoded: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return decoded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=REPO_ROOT, help="checkout whose code runs")
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--label", default="branch")
    parser.add_argument("--decode-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.decode_child is not None:
        decode_child(args.decode_child)
        return 0
    png = near_limit_png()
    code = args.code.resolve()
    api = measure_api(code, args.requests, png)
    decode = measure_decode(code, png)
    report = {
        "label": args.label,
        "code": str(code),
        "png_bytes": len(png),
        "api": api,
        "model_server_decode": decode,
    }
    print(f"{'':28} {'start':>7} {'peak':>7} {'retained':>9}  (MB resident; {args.label}: {code})")
    print(
        f"{'API, ' + str(args.requests) + ' x 2 PNGs':28} {api['rss_start_mb']:>7} {api['rss_peak_mb']:>7} "
        f"{api['rss_retained_mb']:>9}  statuses {api['statuses']} in {api['seconds']} s"
    )
    print(
        f"{'model server, 3 x 1 PNG':28} {decode['rss_before_mb']:>7} {decode['rss_peak_mb']:>7} "
        f"{decode['rss_retained_mb']:>9}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"memory-{args.label}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
