"""Qt-facing controller of manual ad breaks: channels, start/stop with one idempotency key
per intent, live per-variant verification, the audit log, and a live preview source."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from console.context import AppContext
from console.gui.task_set import TaskSet
from console.ops.cue_audit import CueAudit
from services.cue_verify import Verification, VerifyOptions, verify_break
from services.cues import AdBreak, CueResult, new_idempotency_key
from services.errors import Conflict, NotFound, Rejected, ServiceError, describe
from services.playback import multivariant_source

#: answers that prove the service decided (a new intent is needed to try again)
DEFINITIVE = (Rejected, Conflict, NotFound)
DURATION_PRESETS_S = (15, 30, 60, 90, 120, 180)
AUDIT_ROWS = 500
"""How many of the newest audit entries the Cues panel shows."""


@dataclass
class _Pending:
    """An operator intent not yet answered for sure: its key is reused by a retry."""

    key: str
    in_flight: bool = False


class CueController(QObject):
    """Runs ``CueClient`` calls and verifications on the qasync loop; emits typed signals.

    Signals (GUI thread): ``channels_loaded(list[str])``; ``busy_changed(bool)`` a start or
    stop is in flight; ``break_started(AdBreak)``; ``break_updated(AdBreak)`` (ended early);
    ``variant_updated(VariantReport)``; ``verification_finished(Verification)``;
    ``audit_loaded(list[AuditEntry])`` (newest first, after every change and on
    ``reload_audit()``); ``preview_ready(PlaybackSource)``; ``error(str)``; ``status(str)``.
    The audit log's SQLite reads and writes run in worker threads, never on the GUI thread.
    """

    channels_loaded = Signal(list)
    busy_changed = Signal(bool)
    break_started = Signal(object)
    break_updated = Signal(object)
    variant_updated = Signal(object)
    verification_finished = Signal(object)
    audit_loaded = Signal(list)
    preview_ready = Signal(object)
    error = Signal(str)
    status = Signal(str)

    def __init__(
        self,
        context: AppContext,
        audit: CueAudit | None = None,
        options: VerifyOptions | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.audit = audit or CueAudit()
        self.options = options or VerifyOptions()
        self._tasks = TaskSet()
        self._pending: dict[tuple, _Pending] = {}
        self._breaks: dict[str, AdBreak] = {}
        self._audit_rows: dict[int, int] = {}  # event id → audit row of its start
        self._verifying: set[str] = set()  # channels whose break is being verified
        self.channels: list[str] = []
        self.last_verification: Verification | None = None

    # -- what the view shows ---------------------------------------------------------------

    @property
    def available(self) -> bool:
        return getattr(self.context, "cues", None) is not None

    @property
    def problem(self) -> str:
        """Why the cue service is not available (empty when it is)."""
        if self.available:
            return ""
        return getattr(self.context, "cues_problem", "") or "This profile has no cue service."

    @property
    def profile_name(self) -> str:
        return self.context.profile.name

    @property
    def is_demo(self) -> bool:
        return self.context.profile.is_demo

    @property
    def busy(self) -> bool:
        return any(p.in_flight for p in self._pending.values())

    def current_break(self, channel: str) -> AdBreak | None:
        return self._breaks.get(channel)

    # -- channels --------------------------------------------------------------------------

    def load_channels(self) -> None:
        """The profile's channels, else the service's own list; emits ``channels_loaded``."""
        if not self.available:
            self.error.emit(self.problem)
            return
        if self.context.profile.channels:
            self.channels = list(self.context.profile.channels)
            self.channels_loaded.emit(self.channels)
            return
        self._tasks.spawn(self._load_channels())

    async def _load_channels(self) -> None:
        try:
            self.channels = list(await self.context.cues.channels())
        except ServiceError as exc:
            self.error.emit(f"No channel list: {describe(exc)}")
            return
        self.channels_loaded.emit(self.channels)

    # -- start / stop ----------------------------------------------------------------------

    def start_break(self, channel: str, duration: float) -> bool:
        """Start a break (after the view's confirmation). A repeat of the same intent while
        it is in flight is ignored; after an unsure failure (timeout, 5xx) it is re-sent
        with the same idempotency key, so at most one break starts. Returns whether a
        request was sent."""
        if not self.available:
            self.error.emit(self.problem)
            return False
        return self._send(("start", channel, float(duration)))

    def stop_break(self, channel: str) -> bool:
        """End the channel's break now (same double-send protection as ``start_break``)."""
        if not self.available:
            self.error.emit(self.problem)
            return False
        return self._send(("stop", channel))

    def _send(self, intent: tuple) -> bool:
        pending = self._pending.get(intent)
        if pending is not None and pending.in_flight:
            return False
        if pending is None:
            pending = self._pending[intent] = _Pending(new_idempotency_key())
        pending.in_flight = True
        self.busy_changed.emit(True)
        self._tasks.spawn(self._run(intent, pending))
        return True

    async def _run(self, intent: tuple, pending: _Pending) -> None:
        action, channel = intent[0], intent[1]
        duration = intent[2] if action == "start" else None
        client = self.context.cues
        try:
            if action == "start":
                self.status.emit(f"Starting a {duration:g} s break on {channel}…")
                result = await client.start(channel, duration, idempotency_key=pending.key)
            else:
                self.status.emit(f"Ending the break on {channel}…")
                result = await client.stop(channel, idempotency_key=pending.key)
        except ServiceError as exc:
            if isinstance(exc, DEFINITIVE):
                self._pending.pop(intent, None)
            await self._record(channel, action, duration, None, pending.key, f"refused: {exc}")
            self.error.emit(describe(exc))
            return
        finally:
            pending.in_flight = False
            self.busy_changed.emit(self.busy)
        self._pending.pop(intent, None)
        outcome = "replayed" if result.replayed else "accepted"
        row = await self._record(
            channel, action, duration, result.ad_break.event_id, pending.key, outcome
        )
        if action == "start":
            self._started(channel, result, row)
        else:
            self._stopped(channel, result)

    async def _record(self, channel, action, duration, event_id, key, outcome) -> int:
        row = await asyncio.to_thread(
            functools.partial(
                self.audit.record, profile=self.profile_name, channel=channel, action=action,
                duration=duration, event_id=event_id, idempotency_key=key, outcome=outcome,
            )
        )  # fmt: skip
        await self._load_audit()
        return row

    def _started(self, channel: str, result: CueResult, row: int) -> None:
        ad_break = result.ad_break
        if result.replayed and self._breaks.get(channel, None) == ad_break:
            self.status.emit(f"Break {ad_break.event_id} was already started (same request).")
            return
        self._breaks[channel] = ad_break
        self._audit_rows[ad_break.event_id] = row
        self.break_started.emit(ad_break)
        self.status.emit(
            f"Break {ad_break.event_id} on {channel}: {ad_break.duration:g} s from "
            f"{ad_break.start_time:%H:%M:%S} UTC; verifying every variant…"
        )
        self._tasks.spawn(self._verify(channel, result))

    def _stopped(self, channel: str, result: CueResult) -> None:
        self._breaks[channel] = result.ad_break
        if channel in self._verifying:
            self.break_updated.emit(result.ad_break)
        else:  # a break started elsewhere (CLI, another console): verify its return
            self.break_started.emit(result.ad_break)
            self._tasks.spawn(self._verify(channel, result))
        self.status.emit(
            f"Break {result.ad_break.event_id} ends at {result.ad_break.end_time:%H:%M:%S} UTC."
        )

    def _planned_end(self, channel: str, fallback: datetime):
        def planned() -> datetime:
            current = self._breaks.get(channel)
            return current.end_time if current is not None else fallback

        return planned

    async def _verify(self, channel: str, result: CueResult) -> None:
        ad_break = result.ad_break
        started = time.monotonic()
        self._verifying.add(channel)
        try:
            verification = await verify_break(
                self.context.cues.master_url(channel),
                ad_break,
                answered_at=result.answered_at,
                options=self.options,
                planned_end=self._planned_end(channel, ad_break.end_time),
                on_update=self.variant_updated.emit,
            )
        finally:
            self._verifying.discard(channel)
        self.last_verification = verification
        row = self._audit_rows.pop(ad_break.event_id, None)
        if row is not None:
            await asyncio.to_thread(
                self.audit.set_verification, row, verification.ok, verification.summary()
            )
            await self._load_audit()
        self.verification_finished.emit(verification)
        word = "verified" if verification.ok else "NOT verified"
        self.status.emit(
            f"Break {ad_break.event_id} {word} ({time.monotonic() - started:.0f} s): "
            f"{verification.summary()}"
        )
        if not verification.ok:
            reasons = [v.describe() for v in verification.variants if v.failed]
            reasons += list(verification.problems)
            self.error.emit(
                f"Ad break {ad_break.event_id} on {channel} is NOT verified: " + "; ".join(reasons)
            )

    # -- preview, audit ----------------------------------------------------------------------

    def preview(self, channel: str) -> None:
        """Emit the channel's live multivariant playlist as a player source."""
        if not self.available:
            self.error.emit(self.problem)
            return
        url = self.context.cues.master_url(channel)
        self.preview_ready.emit(multivariant_source(f"Live: {channel}", url, live=True))

    def reload_audit(self) -> None:
        """Read the newest ``AUDIT_ROWS`` entries in a worker thread; emits ``audit_loaded``."""
        self._tasks.spawn(self._load_audit())

    async def _load_audit(self) -> None:
        try:
            entries = await asyncio.to_thread(self.audit.entries, AUDIT_ROWS)
        except sqlite3.Error as exc:
            self.error.emit(f"The cue audit log {self.audit.path} cannot be read: {exc}")
            return
        self.audit_loaded.emit(entries)

    def export_audit(self, path: str) -> None:
        """Write the audit log as CSV to ``path`` in a worker thread; the status line then
        gives the count, or ``error`` says why it failed."""
        self._tasks.spawn(self._export_audit(Path(path)))

    async def _export_audit(self, path: Path) -> None:
        try:
            count = await asyncio.to_thread(self.audit.export_csv, path)
        except (OSError, sqlite3.Error) as exc:
            self.error.emit(describe(exc) if isinstance(exc, OSError) else str(exc))
            return
        self.status.emit(f"{count} audit {'entry' if count == 1 else 'entries'} written to {path}")

    def shutdown(self) -> None:
        self._tasks.cancel_all()
