"""Per-game child rows of a batch job in the Jobs panel (a cluster batch runs one task per
game: each game has its own state, progress, ETA and worker node). No I/O: rows in, cells
out.

A live row is any object with the attributes of ``GameLine`` (the cluster batch's
``GameRow``, handed over by the controller); a finished job of an earlier session gets its
rows back from its stored result (``services.cluster.batch.rows_from_result``).
"""

from __future__ import annotations

from typing import Any, Protocol

from services.jobs.model import JobState, format_seconds

#: what a queued game's detail says (its task waits for free CPUs on the cluster)
QUEUED_TEXT = "waiting for a free worker"


class GameLine(Protocol):
    """One game of a batch: ``state`` (queued, running, succeeded, failed, cancelled),
    ``fraction`` in [0, 1], ``stage``/``detail``, ``node`` (worker host), ``attempts``
    (runs started), ``eta_s`` (seconds left, None when unknown), ``summary``/``error`` and
    the game's ``result`` (a spot-check's holds ``report``, the report file's path)."""

    game: str
    state: str
    fraction: float
    stage: str
    detail: str
    node: str
    attempts: int
    eta_s: float | None
    summary: str
    error: str
    result: dict[str, Any]


def game_state(row: GameLine) -> JobState | None:
    """The job state a game's state reads as (same names and colours), None if unknown."""
    try:
        return JobState(row.state)
    except ValueError:
        return None


def game_finished(row: GameLine) -> bool:
    return row.state in ("succeeded", "failed", "cancelled")


def game_fraction(row: GameLine) -> float | None:
    """The progress bar's fraction: 1 when succeeded, None while queued (no bar text)."""
    if row.state == "succeeded":
        return 1.0
    if row.state == "queued":
        return None
    return row.fraction


def game_detail(row: GameLine) -> str:
    """What the stage/detail column says for a game: live stage, or how it ended."""
    if row.state == "succeeded":
        text = row.summary or "done"
    elif game_finished(row):
        text = row.error or row.summary or row.state
    elif row.state == "queued":
        text = QUEUED_TEXT
    elif row.stage and row.detail:
        text = f"{row.stage}: {row.detail}"
    else:
        text = row.stage or row.detail or "started"
    if row.attempts > 1:
        text += f" (attempt {row.attempts})"
    return text


def game_eta(row: GameLine) -> str:
    """Seconds left as the ETA column shows them; "" once finished or when unknown."""
    if game_finished(row) or row.eta_s is None:
        return ""
    return format_seconds(row.eta_s)


def game_report(row: GameLine) -> str:
    """The path of the game's saved spot-check report, "" when it has none."""
    if row.state != "succeeded":
        return ""
    report = row.result.get("report") if isinstance(row.result, dict) else None
    return str(report) if report else ""


def game_tooltip(row: GameLine) -> str:
    lines = [f"game {row.game} · {row.state}"]
    if row.node:
        lines.append(f"worker {row.node}" + (f", attempt {row.attempts}" if row.attempts else ""))
    text = game_detail(row)
    if text:
        lines.append(text)
    return "\n".join(lines)
