"""The live monitor's data: what it watches, what it measured, what it alarms on (no I/O).

Times: ``*_mono`` are ``time.monotonic()`` seconds (durations), ``*_at`` aware UTC datetimes
(what operators read and the event log stores). Durations in seconds, latencies in ms.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from services.ad_breaks import AdBreakSpan
from services.cue_tags import CuePlaylist
from services.monitor.latency import LatencyWindow

LATENCY_TARGET_MS = 100.0
"""The stateless plan's manifest latency target (request → last byte), ms."""
SPARK_POINTS = 60
"""Reloads kept per variant for the sequence sparkline."""


class AlarmKind(StrEnum):
    """What is wrong (one alarm per kind per channel × variant)."""

    STALE = "stale"
    """The newest segment has not advanced for > 3 × target duration (RFC 8216 §6.2.1)."""
    DEPLETED = "depleted"
    """The live window is < 3 × target duration, or it ends at a CUE-IN with no content."""
    DRIFT = "drift"
    """Media sequence or program-date-time differs from the channel's other variants."""
    PARTIAL_BREAK = "partial-break"
    """An ad break is on some variants of the channel only."""
    LATENCY = "latency"
    """The recent manifest requests' median latency exceeds the target."""
    LATE_JOIN = "late-join"
    """A fresh client joining during a break got a playlist it cannot play correctly."""
    UNREADABLE = "unreadable"
    """The playlist cannot be fetched or parsed."""


@dataclass(frozen=True)
class Alarm:
    """An active alarm: ``kind`` on ``channel`` / ``variant`` (the variant playlist's name,
    e.g. ``v_800k.m3u8``), ``detail`` in the operator's words."""

    kind: AlarmKind
    channel: str
    variant: str
    detail: str

    @property
    def key(self) -> tuple[AlarmKind, str, str]:
        """One alarm per kind per channel × variant."""
        return (self.kind, self.channel, self.variant)


@dataclass(frozen=True)
class MonitorEvent:
    """An alarm ``raised`` or ``cleared`` at ``at`` (also ``"break-start"`` / ``"break-end"``
    notices, ``kind`` ``"break"``, and each late join as ``"join-ok"`` / ``"join-failed"``)."""

    at: datetime
    state: str
    kind: str
    channel: str
    variant: str
    detail: str


@dataclass(frozen=True)
class MonitorOptions:
    """Thresholds and limits. ``stale_targets`` and ``depletion_targets`` in target
    durations (3, RFC 8216 §6.2.1 / §6.3.4); ``drift_segments`` how far variants may differ
    (1 segment: they are read at slightly different moments); ``latency_target_ms`` and the
    ``latency_recent`` requests whose median is compared with it; ``concurrency`` the most
    requests in flight; ``timeout_s`` per request; ``master_reload_s`` how often the
    multivariant playlist is read again; ``join_every_targets`` how often a late joiner is
    sent during a break (in target durations)."""

    stale_targets: float = 3.0
    depletion_targets: float = 3.0
    drift_segments: int = 1
    latency_target_ms: float = LATENCY_TARGET_MS
    latency_recent: int = 5
    concurrency: int = 16
    timeout_s: float = 5.0
    master_reload_s: float = 30.0
    join_every_targets: float = 3.0


@dataclass(frozen=True)
class BreakSeen:
    """A break as the channel shows it: ``id``, which variants carry it, whether it is
    ``active`` (no CUE-IN yet), its SCTE-35 event id / duration when decoded."""

    id: str
    variants: tuple[str, ...]
    active: bool
    start: datetime | None
    planned_duration: float | None
    splice_event_id: int | None


@dataclass
class VariantWatch:
    """What the monitor knows of one variant (mutated by the poller only)."""

    channel: str
    name: str
    url: str
    playlist: CuePlaylist | None = None
    target_duration: float = 0.0
    newest: int | None = None
    advanced_mono: float | None = None
    advanced_at: datetime | None = None
    changed_last: bool = True
    playlist_sequence: int | None = None
    lost_segments: int = 0
    """Segments that left the window since the newest segment last changed (depletion)."""
    last_text: str | None = None
    error: str | None = None
    error_since_mono: float | None = None
    latency: LatencyWindow = field(default_factory=LatencyWindow)
    sequence_history: deque[int] = field(default_factory=lambda: deque(maxlen=SPARK_POINTS))
    reloads: int = 0

    spans: tuple[AdBreakSpan, ...] = ()
    """The ad breaks of ``playlist`` (computed once per reload)."""

    @property
    def breaks(self) -> tuple[AdBreakSpan, ...]:
        return self.spans

    @property
    def window_s(self) -> float:
        """Seconds of media in the live window (sum of EXTINF)."""
        if self.playlist is None:
            return 0.0
        return sum(s.duration for s in self.playlist.segments)


@dataclass(frozen=True)
class VariantStatus:
    """A snapshot row for the views and the CLI: one channel × variant."""

    channel: str
    variant: str
    url: str
    media_sequence: int | None
    newest: int | None
    target_duration: float
    window_s: float
    segments: int
    advanced_at: datetime | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_max_ms: float | None
    sparkline: tuple[int, ...]
    last_break: str
    alarms: tuple[Alarm, ...]
    reloads: int

    @property
    def healthy(self) -> bool:
        return not self.alarms


@dataclass
class JoinTally:
    """Late joiners of one channel: ``joins`` sent, ``successes``, ``last`` detail."""

    joins: int = 0
    successes: int = 0
    last: str = ""
