"""Small display formatters shared by the views (pure functions, no Qt)."""

from __future__ import annotations


def human_bytes(size: int) -> str:
    """``1536`` → ``"1.5 KiB"`` (binary units)."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def human_duration(seconds: float | None) -> str:
    """Seconds → ``"m:ss.mmm"`` or ``"h:mm:ss.mmm"``; ``"--:--"`` when unknown."""
    if seconds is None or seconds < 0:
        return "--:--"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{int(hours)}:{int(minutes):02d}:{secs:06.3f}"
    return f"{int(minutes)}:{secs:06.3f}"
