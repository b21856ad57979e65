"""Time-left estimates from a stream of (time, fraction) progress samples."""

from __future__ import annotations

#: no estimate before this many seconds of progress signal
MIN_ELAPSED_S = 1.0
#: ... nor before this much progress (fraction)
MIN_PROGRESS = 0.01
#: samples closer than this (seconds) are folded into the next one
MIN_SAMPLE_GAP_S = 0.25
#: weight of the newest rate in the exponential moving average (0..1)
SMOOTHING = 0.3


class EtaEstimator:
    """Seconds left from progress samples: a moving average of the progress rate, blended
    with the average rate since the first sample so one slow or fast burst does not swing
    the estimate. ``update`` returns None until there is enough signal (at least
    ``MIN_ELAPSED_S`` seconds and ``MIN_PROGRESS`` of progress since the first sample), when
    progress is unknown, and when it is not advancing. A fraction that goes back (a new
    stage restarting at 0) restarts the estimate.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._first: tuple[float, float] | None = None
        self._last: tuple[float, float] | None = None
        self._rate: float | None = None

    def update(self, now: float, fraction: float | None) -> float | None:
        """Feed one sample (``now``: monotonic seconds; ``fraction`` in [0, 1] or None) and
        return the estimated seconds left, or None."""
        if fraction is None:
            self.reset()
            return None
        if self._last is not None and fraction < self._last[1]:
            self.reset()
        if self._first is None or self._last is None:
            self._first = self._last = (now, fraction)
            return None
        last_time, last_fraction = self._last
        if now - last_time >= MIN_SAMPLE_GAP_S:
            rate = (fraction - last_fraction) / (now - last_time)
            self._rate = (
                rate if self._rate is None else (SMOOTHING * rate + (1 - SMOOTHING) * self._rate)
            )
            self._last = (now, fraction)
        return self.estimate(now, fraction)

    def estimate(self, now: float, fraction: float) -> float | None:
        """Seconds left at ``fraction`` given the samples so far, or None."""
        if self._first is None or self._rate is None:
            return None
        first_time, first_fraction = self._first
        elapsed, done = now - first_time, fraction - first_fraction
        if elapsed < MIN_ELAPSED_S or done < MIN_PROGRESS:
            return None
        rate = 0.5 * self._rate + 0.5 * (done / elapsed)
        if rate <= 0:
            return None
        return max(0.0, (1.0 - fraction) / rate)
