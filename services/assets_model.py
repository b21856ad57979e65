"""The video-assets API's data (docs/contracts.md §1.3) as frozen dataclasses, parsed strictly.

``video_assets`` rows have the lifecycle ``queued → processing → completed | failed``,
``failed → retrying → processing → …``; ``video_processing_events`` is append-only.
Parsing raises ``BadResponse`` naming the field when the server's JSON does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from services.clock import utc_now
from services.errors import BadResponse


class AssetStatus(StrEnum):
    """Status of a ``video_assets`` row."""

    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    RETRYING = "retrying"


#: statuses from which ``POST /api/video-assets/retry`` is accepted (else 409)
RETRYABLE = frozenset({AssetStatus.FAILED})


@dataclass(frozen=True)
class AssetFilter:
    """What the operator asked to see: ``status`` (None = all), ``error_code``, free
    ``text`` (server-side search), and ``within_s``: only assets updated in the last
    ``within_s`` seconds (None = any time)."""

    status: str | None = "failed"
    error_code: str | None = None
    text: str = ""
    within_s: int | None = None

    def query(self) -> dict[str, Any]:
        """The filter as keyword arguments of ``AssetsClient.list_assets``: ``status``,
        ``error_code``, ``text`` (None when unset) and ``since`` (an aware UTC datetime
        ``within_s`` seconds ago, or None)."""
        since = None
        if self.within_s:
            since = utc_now() - timedelta(seconds=self.within_s)
        return {
            "status": self.status or None,
            "error_code": self.error_code or None,
            "text": self.text.strip() or None,
            "since": since,
        }


@dataclass(frozen=True)
class Asset:
    """One ``video_assets`` row. Times are timezone-aware UTC; ``duration_sec`` seconds;
    ``width``/``height`` pixels; ``attempts`` processing attempts so far."""

    id: str
    post_id: str
    owner_id: str
    source_url: str
    status: AssetStatus
    provider_job_id: str | None
    manifest_url: str | None
    fallback_url: str | None
    poster_url: str | None
    duration_sec: float | None
    width: int | None
    height: int | None
    error_code: str | None
    error_message: str | None
    attempts: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ProcessingEvent:
    """One ``video_processing_events`` row: a status transition or a note, with a JSON
    ``payload`` (dict) and its ``created_at`` time (UTC)."""

    id: str
    asset_id: str
    type: str
    from_status: str | None
    to_status: str | None
    payload: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class AssetPage:
    """One page of the ops listing; ``next_cursor`` is None on the last page."""

    items: tuple[Asset, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class RetryResult:
    """The outcome of retrying one asset.

    ``outcome``: ``"retried"`` (200), ``"conflict"`` (409: ``current_status`` says what it is
    now), ``"not_found"`` (404), ``"forbidden"`` (401/403) or ``"error"`` (5xx, unreachable,
    malformed answer). ``message`` is a sentence for the operator; ``asset`` the answer on 200.
    """

    post_id: str
    outcome: str
    message: str
    asset: Asset | None = None
    current_status: str | None = None
    idempotency_key: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == "retried"


def parse_time(value: Any, field: str) -> datetime:
    """ISO-8601 (``Z`` allowed) → aware datetime; raises ``BadResponse``."""
    if not isinstance(value, str):
        raise BadResponse(f"field {field!r} is not an ISO-8601 time: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadResponse(f"field {field!r} is not an ISO-8601 time: {value!r}") from exc
    if parsed.tzinfo is None:
        raise BadResponse(f"field {field!r} has no time zone: {value!r}")
    return parsed


def _opt(row: dict[str, Any], field: str, kind: type) -> Any:
    value = row.get(field)
    if value is None:
        return None
    try:
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise BadResponse(f"field {field!r} is not a {kind.__name__}: {value!r}") from exc


def parse_asset(row: Any) -> Asset:
    """Build an ``Asset`` from the API's JSON object; raises ``BadResponse``."""
    if not isinstance(row, dict):
        raise BadResponse(f"an asset is not a JSON object: {str(row)[:80]}")
    try:
        status = AssetStatus(row.get("status"))
    except ValueError as exc:
        raise BadResponse(f"unknown asset status {row.get('status')!r}") from exc
    for required in ("id", "post_id"):
        if not row.get(required):
            raise BadResponse(f"an asset has no {required!r}")
    return Asset(
        id=str(row["id"]),
        post_id=str(row["post_id"]),
        owner_id=str(row.get("owner_id") or ""),
        source_url=str(row.get("source_url") or ""),
        status=status,
        provider_job_id=_opt(row, "provider_job_id", str),
        manifest_url=_opt(row, "manifest_url", str),
        fallback_url=_opt(row, "fallback_url", str),
        poster_url=_opt(row, "poster_url", str),
        duration_sec=_opt(row, "duration_sec", float),
        width=_opt(row, "width", int),
        height=_opt(row, "height", int),
        error_code=_opt(row, "error_code", str),
        error_message=_opt(row, "error_message", str),
        attempts=_opt(row, "attempts", int) or 0,
        created_at=parse_time(row.get("created_at"), "created_at"),
        updated_at=parse_time(row.get("updated_at"), "updated_at"),
    )


def parse_event(row: Any) -> ProcessingEvent:
    """Build a ``ProcessingEvent`` from the API's JSON object; raises ``BadResponse``."""
    if not isinstance(row, dict) or not row.get("id") or not row.get("type"):
        raise BadResponse(f"an event is not a JSON object with id and type: {str(row)[:80]}")
    payload = row.get("payload") or {}
    if not isinstance(payload, dict):
        raise BadResponse(f"event {row['id']} payload is not a JSON object")
    return ProcessingEvent(
        id=str(row["id"]),
        asset_id=str(row.get("asset_id") or ""),
        type=str(row["type"]),
        from_status=_opt(row, "from_status", str),
        to_status=_opt(row, "to_status", str),
        payload=payload,
        created_at=parse_time(row.get("created_at"), "created_at"),
    )
