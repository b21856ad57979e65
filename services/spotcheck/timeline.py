"""Frame lookups on a rendition's timeline: sorted presentation times in seconds."""

from __future__ import annotations

import bisect
from collections.abc import Sequence


def nearest(times: Sequence[float], t: float) -> int | None:
    """Index of the value of the sorted ``times`` nearest ``t`` (seconds; the earlier one
    on a tie); None when ``times`` is empty. O(log n)."""
    if not times:
        return None
    at = bisect.bisect_left(times, t)
    if at == 0:
        return 0
    if at == len(times):
        return len(times) - 1
    return at if times[at] - t < t - times[at - 1] else at - 1
