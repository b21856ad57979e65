"""Qt-facing controller of manual ad breaks: channels, start/stop with one idempotency key
per intent, live per-variant verification, the audit log, and a live preview source. The
flow itself (send, audit, verify) is ``console.ops.cues.CueDesk``, shared with the CLI."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from console.context import AppContext
from console.gui.operation import Operations, failure_sentence
from console.ops.cue_audit import CueAudit
from console.ops.cues import (
    DEFINITIVE,
    CueAction,
    CueDesk,
    CueIntent,
    PendingIntent,
    SentCue,
    resolve_channel,
)
from services.cue_reports import Verification, VerifyOptions
from services.cues import AdBreak
from services.errors import Rejected
from services.playback import multivariant_source

AUDIT_ROWS = 500
"""How many of the newest audit entries the Cues panel shows."""


class CueController(QObject):
    """Runs the cue flow (``CueDesk``) on the qasync loop; emits typed signals.

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
        self.desk = CueDesk(context, audit, options)
        self._ops = Operations(self.error.emit)
        self._pending: dict[CueIntent, PendingIntent] = {}
        self._breaks: dict[str, AdBreak] = {}
        self._verifying: set[str] = set()  # channels whose break is being verified
        self.channels: list[str] = []
        self.last_verification: Verification | None = None

    @property
    def audit(self) -> CueAudit:
        return self.desk.audit

    @property
    def options(self) -> VerifyOptions:
        return self.desk.options

    # -- what the view shows ---------------------------------------------------------------

    @property
    def available(self) -> bool:
        return self.context.cues is not None

    @property
    def problem(self) -> str:
        """Why the cue service is not available (empty when it is)."""
        if self.available:
            return ""
        return self.context.cues_problem or "This profile has no cue service."

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
        self._ops.run(self.desk.channels(), success=self._channels_loaded, what="No channel list")

    def _channels_loaded(self, channels: list[str]) -> None:
        self.channels = channels
        self.channels_loaded.emit(channels)

    # -- start / stop ----------------------------------------------------------------------

    def start_break(self, channel: str, duration: float) -> bool:
        """Start a break (after the view's confirmation). A repeat of the same intent while
        it is in flight is ignored; after an unsure failure (timeout, 5xx) it is re-sent
        with the same idempotency key, so at most one break starts. Returns whether a
        request was sent."""
        return self._send(CueIntent(CueAction.START, channel, float(duration)))

    def stop_break(self, channel: str) -> bool:
        """End the channel's break now (same double-send protection as ``start_break``)."""
        return self._send(CueIntent(CueAction.STOP, channel))

    def _send(self, intent: CueIntent) -> bool:
        if not self.available:
            self.error.emit(self.problem)
            return False
        try:
            intent = replace(intent, channel=resolve_channel(intent.channel, self.channels))
        except Rejected as exc:
            self.error.emit(failure_sentence(exc))
            return False
        pending = self._pending.setdefault(intent, PendingIntent())
        if pending.in_flight:
            return False
        pending.in_flight = True
        self.busy_changed.emit(True)
        if intent.action is CueAction.START:
            self.status.emit(f"Starting {intent.describe()}…")
        else:
            self.status.emit(f"Ending {intent.describe()}…")
        self._ops.run(
            self._with_audit(self.desk.send(intent, pending.key)),
            success=lambda answer: self._answered(pending, *answer),
            failure=lambda exc: self._refused(intent, pending, exc),
        )
        return True

    async def _with_audit(self, work):
        """``work``'s result and the audit entries read after it (one operation, so the
        table shows a cue's row before the signals about it)."""
        result = await work
        return result, await asyncio.to_thread(self.audit.entries, AUDIT_ROWS)

    def _settled(self, pending: PendingIntent) -> None:
        pending.in_flight = False
        self.busy_changed.emit(self.busy)

    def _refused(self, intent: CueIntent, pending: PendingIntent, exc: BaseException) -> None:
        if isinstance(exc, DEFINITIVE):
            self._pending.pop(intent, None)
        self._settled(pending)
        self.reload_audit()
        self.error.emit(failure_sentence(exc))

    def _answered(self, pending: PendingIntent, sent: SentCue, entries: list) -> None:
        self._pending.pop(sent.intent, None)
        self._settled(pending)
        self.audit_loaded.emit(entries)
        if sent.intent.action is CueAction.START:
            self._started(sent)
        else:
            self._stopped(sent)

    def _started(self, sent: SentCue) -> None:
        channel, ad_break = sent.intent.channel, sent.result.ad_break
        if sent.result.replayed and self._breaks.get(channel) == ad_break:
            self.status.emit(f"Break {ad_break.event_id} was already started (same request).")
            return
        self._breaks[channel] = ad_break
        self.break_started.emit(ad_break)
        self.status.emit(
            f"Break {ad_break.event_id} on {channel}: {ad_break.duration:g} s from "
            f"{ad_break.start_time:%H:%M:%S} UTC; verifying every variant…"
        )
        self._verify(sent)

    def _stopped(self, sent: SentCue) -> None:
        channel, ad_break = sent.intent.channel, sent.result.ad_break
        self._breaks[channel] = ad_break
        if channel in self._verifying:
            self.break_updated.emit(ad_break)
        else:  # a break started elsewhere (CLI, another console): verify its return
            self.break_started.emit(ad_break)
            self._verify(sent)
        self.status.emit(f"Break {ad_break.event_id} ends at {ad_break.end_time:%H:%M:%S} UTC.")

    def _planned_end(self, channel: str, fallback: datetime):
        def planned() -> datetime:
            current = self._breaks.get(channel)
            return current.end_time if current is not None else fallback

        return planned

    def _verify(self, sent: SentCue) -> None:
        channel = sent.intent.channel
        self._verifying.add(channel)
        started = time.monotonic()
        task = self._ops.run(
            self._with_audit(
                self.desk.verify(
                    sent,
                    planned_end=self._planned_end(channel, sent.result.ad_break.end_time),
                    on_update=self.variant_updated.emit,
                )
            ),
            success=lambda answer: self._verified(sent, *answer, started),
            what=f"Verifying break {sent.result.ad_break.event_id}",
        )
        task.add_done_callback(lambda _t: self._verifying.discard(channel))

    def _verified(
        self, sent: SentCue, verification: Verification, entries: list, started: float
    ) -> None:
        ad_break, channel = sent.result.ad_break, sent.intent.channel
        self.last_verification = verification
        self.audit_loaded.emit(entries)
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
        url = self.desk.master_url(channel)
        self.preview_ready.emit(multivariant_source(f"Live: {channel}", url, live=True))

    def reload_audit(self) -> None:
        """Read the newest ``AUDIT_ROWS`` entries in a worker thread; emits ``audit_loaded``."""
        self._ops.run(
            asyncio.to_thread(self.audit.entries, AUDIT_ROWS),
            success=self.audit_loaded.emit,
            what=f"The cue audit log {self.audit.path} cannot be read",
        )

    def export_audit(self, path: str) -> None:
        """Write the audit log as CSV to ``path`` in a worker thread; the status line then
        gives the count, or ``error`` says why it failed."""
        self._ops.run(
            asyncio.to_thread(self.audit.export_csv, Path(path)),
            success=lambda count: self.status.emit(
                f"{count} audit {'entry' if count == 1 else 'entries'} written to {path}"
            ),
        )

    def shutdown(self) -> None:
        self._ops.cancel_all()
