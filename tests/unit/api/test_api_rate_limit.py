"""The per-key token bucket (greenr/api/rate_limit.py), on an injected clock: no sleeping."""

from __future__ import annotations

import pytest

from greenr.api.rate_limit import RateDecision, RateLimiter, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3, now=0.0)
    assert [bucket.take(0.0).allowed for _ in range(4)] == [True, True, True, False]
    refused = bucket.take(0.0)
    assert refused.retry_after_seconds == pytest.approx(0.5)
    assert bucket.take(0.49).allowed is False
    assert bucket.take(0.5).allowed is True
    # Idle time refills up to the burst, never beyond it.
    assert [bucket.take(100.0).allowed for _ in range(4)] == [True, True, True, False]


def test_retry_after_is_whole_seconds_rounded_up() -> None:
    assert RateDecision(False, 0.2).retry_after_header == "1"
    assert RateDecision(False, 1.0).retry_after_header == "1"
    assert RateDecision(False, 1.01).retry_after_header == "2"
    assert TokenBucket(rate=0.1, burst=1, now=0.0).take(0.0).allowed
    assert TokenBucket(rate=0.1, burst=1, now=0.0).take(0.0).retry_after_header == "1"
    slow = TokenBucket(rate=0.1, burst=1, now=0.0)
    slow.take(0.0)
    assert slow.take(0.0).retry_after_header == "10"


def test_a_bucket_needs_a_positive_rate_and_burst() -> None:
    with pytest.raises(ValueError, match="rate > 0 and burst >= 1"):
        TokenBucket(rate=0.0, burst=1, now=0.0)
    with pytest.raises(ValueError, match="rate > 0 and burst >= 1"):
        TokenBucket(rate=1.0, burst=0, now=0.0)


def test_keys_have_their_own_buckets_and_limits() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=2, clock=clock)
    assert [limiter.check("a").allowed for _ in range(3)] == [True, True, False]
    assert limiter.check("b").allowed  # another key is not slowed by the first
    # A key with its own limit (from its catalog row).
    assert sum(limiter.check("bench", rate=100.0, burst=50).allowed for _ in range(60)) == 50
    clock.now += 0.1
    assert sum(limiter.check("bench", rate=100.0, burst=50).allowed for _ in range(20)) == 10
    clock.now += 1.0
    assert limiter.check("a").allowed
    assert not limiter.check("a").allowed
