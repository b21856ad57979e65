"""Small display formatters shared by the views (pure functions, no Qt)."""

from __future__ import annotations

from services.units import human_bytes

__all__ = ["human_bytes", "human_duration"]


def human_duration(seconds: float | None) -> str:
    """Seconds → ``"m:ss.mmm"`` or ``"h:mm:ss.mmm"``; ``"--:--"`` when unknown."""
    if seconds is None or seconds < 0:
        return "--:--"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{int(hours)}:{int(minutes):02d}:{secs:06.3f}"
    return f"{int(minutes)}:{secs:06.3f}"
