"""Units for people: sizes in messages, summaries and views (pure functions)."""

from __future__ import annotations


def human_bytes(size: int) -> str:
    """``1536`` → ``"1.5 KiB"``, ``0`` → ``"0 B"`` (binary units, one decimal above bytes)."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def count_of(count: int, noun: str) -> str:
    """``(1, "object")`` → ``"1 object"``, ``(3, "object")`` → ``"3 objects"``."""
    return f"{count} {noun}" + ("" if count == 1 else "s")
