"""Per-key rate limit: a token bucket per API key, in this process's memory.

Each key's bucket holds up to `burst` tokens and refills at `rate` tokens per second; a request
takes one token, or is refused with the seconds until one is back (`Retry-After`). The buckets
live in one API process: with N replicas a key gets up to N times the rate. A multi-replica
deployment that must hold the limit exactly needs a shared store (e.g. Redis with an atomic
script) or a gateway that limits in front of the replicas.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RateDecision:
    """Whether a request may go on; when not, how long until it would (seconds, > 0)."""

    allowed: bool
    retry_after_seconds: float = 0.0

    @property
    def retry_after_header(self) -> str:
        """`Retry-After` takes whole seconds: rounded up, so a client that waits is let through."""
        return str(max(1, math.ceil(self.retry_after_seconds)))


class TokenBucket:
    """One bucket; not thread-safe on its own (RateLimiter locks around it)."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"a token bucket needs rate > 0 and burst >= 1, got {rate} and {burst}")
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = now

    def take(self, now: float) -> RateDecision:
        """Take one token at time `now` (seconds, monotonic)."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(self.burst), self.tokens + elapsed * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return RateDecision(True)
        return RateDecision(False, (1.0 - self.tokens) / self.rate)


class RateLimiter:
    """Buckets by key id; a key's own rate and burst (from its catalog row) win over the defaults."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def check(self, key_id: str, rate: float | None = None, burst: int | None = None) -> RateDecision:
        """Take a token from the key's bucket."""
        rate = rate or self.rate
        burst = burst or self.burst
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(key_id)
            if bucket is None or (bucket.rate, bucket.burst) != (rate, burst):
                # New key, or its limit was changed in the catalog: start it with a full bucket.
                bucket = self._buckets[key_id] = TokenBucket(rate, burst, now)
            return bucket.take(now)
