"""Qt-facing controller of the live monitor: runs ``console.ops.monitor.MonitorRun`` on the
qasync loop, publishes a snapshot every second, relays every alarm, and makes a variant a
live player source."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from console.context import AppContext
from console.gui.operation import Operations
from console.ops.monitor import MonitorRun, channel_targets, event_log
from services.monitor.model import MonitorEvent, MonitorOptions, VariantStatus
from services.playback import multivariant_source

SNAPSHOT_EVERY_MS = 1000
EVENT_ROWS = 500


class MonitorController(QObject):
    """The Monitor tab's controller.

    Signals (GUI thread): ``updated(list[VariantStatus])`` about once a second while
    watching; ``event(MonitorEvent)`` every event; ``alarm(MonitorEvent)`` each alarm raised
    (for notifications); ``running_changed(bool)``; ``joins_changed(str)`` the late-joiner
    tally in words; ``preview_ready(PlaybackSource)``; ``error(str)``; ``status(str)``.
    """

    updated = Signal(list)
    event = Signal(object)
    alarm = Signal(object)
    running_changed = Signal(bool)
    joins_changed = Signal(str)
    preview_ready = Signal(object)
    error = Signal(str)
    status = Signal(str)

    def __init__(self, context: AppContext, options: MonitorOptions | None = None) -> None:
        super().__init__()
        self.context = context
        self.options = options
        self.run: MonitorRun | None = None
        self._ops = Operations(self.error.emit)
        self._timer = QTimer(self)
        self._timer.setInterval(SNAPSHOT_EVERY_MS)
        self._timer.timeout.connect(self._publish)

    @property
    def available(self) -> bool:
        """Whether the profile has a cue service whose channels can be watched."""
        return self.context.cues is not None

    @property
    def problem(self) -> str:
        return self.context.cues_problem or "This profile has no cue service."

    @property
    def running(self) -> bool:
        return self.run is not None

    def start(self, channels: list[str] | None = None) -> None:
        """Watch ``channels`` (every channel of the profile when None)."""
        if not self.available:
            self.error.emit(self.problem)
            return
        if self.run is not None:
            return
        self._ops.run(channel_targets(self.context, channels), success=self._watch, what="watch")

    def _watch(self, targets) -> None:
        if self.run is not None:
            return
        self.run = MonitorRun(targets, options=self.options, on_event=self._relay)
        self.running_changed.emit(True)
        self.status.emit(f"Watching {len(targets)} channel(s)")
        self._ops.run(self.run.run(), success=self._ended, failure=self._failed, what="monitor")
        self._timer.start()

    def _relay(self, event: MonitorEvent) -> None:
        self.event.emit(event)
        if event.state == "raised":
            self.alarm.emit(event)

    def _publish(self) -> None:
        if self.run is None:
            return
        self.updated.emit(self.run.monitor.statuses())
        self.run.flush()
        tallies = [
            f"{channel}: {t.successes}/{t.joins}"
            for channel, t in self.run.monitor.joins.items()
            if t.joins
        ]
        self.joins_changed.emit("Late joiners " + ", ".join(tallies) if tallies else "")

    def _ended(self, _result=None) -> None:
        self._publish()
        self.run = None
        self._timer.stop()
        self.running_changed.emit(False)
        self.status.emit("Monitor stopped")

    def _failed(self, _exc: BaseException) -> None:
        self.run = None
        self._timer.stop()
        self.running_changed.emit(False)

    def stop(self) -> None:
        """Stop watching (the event log keeps what was seen)."""
        if self.run is not None:
            self.run.stop()

    def play(self, status: VariantStatus) -> None:
        """Emit ``status``'s variant as a live player source (its media playlist, HLS)."""
        title = f"Live: {status.channel} {status.variant}"
        self.preview_ready.emit(multivariant_source(title, status.url, live=True))

    def recent_events(self) -> list[tuple[str, ...]]:
        """The newest stored events (``services.monitor.event_log.COLUMNS`` tuples)."""
        return event_log().recent(EVENT_ROWS)

    def export_events(self, path: str) -> None:
        """Write the whole event log as CSV to ``path``; says how many rows."""
        try:
            if self.run is not None:
                self.run.flush()
            count = event_log().export_csv(Path(path))
        except OSError as exc:
            self.error.emit(f"Could not write {path}: {exc.strerror or exc}.")
            return
        self.status.emit(f"{count} monitor event(s) written to {path}")

    def shutdown(self) -> None:
        self._timer.stop()
        if self.run is not None:
            self.run.stop()
            self.run.flush()
        self._ops.cancel_all()
