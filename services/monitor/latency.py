"""Manifest latency over a sliding window: request start → last byte, in milliseconds."""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field

WINDOW_S = 60.0
"""Samples older than this (s) leave the window."""


@dataclass
class LatencyWindow:
    """``(monotonic_s, ms)`` samples of the last ``WINDOW_S`` seconds."""

    samples: deque[tuple[float, float]] = field(default_factory=deque)

    def add(self, at_mono: float, ms: float) -> None:
        """Record one request that started at ``at_mono`` and took ``ms`` milliseconds."""
        self.samples.append((at_mono, ms))
        while self.samples and self.samples[0][0] < at_mono - WINDOW_S:
            self.samples.popleft()

    def _values(self) -> list[float]:
        return sorted(ms for _, ms in self.samples)

    def percentile(self, q: float) -> float | None:
        """The ``q``-th percentile (0…100, nearest rank) of the window; None when empty."""
        values = self._values()
        if not values:
            return None
        rank = max(1, min(len(values), round(q / 100 * len(values) + 0.5)))
        return values[rank - 1]

    @property
    def max_ms(self) -> float | None:
        return max((ms for _, ms in self.samples), default=None)

    def recent_median(self, count: int) -> float | None:
        """Median of the last ``count`` requests (None until there are that many)."""
        if len(self.samples) < count:
            return None
        return statistics.median(ms for _, ms in list(self.samples)[-count:])
