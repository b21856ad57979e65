"""The live monitor of a profile's channels, shared by the Monitor tab and ``main.py
monitor`` (no Qt): which channels, the engine, and the persisted event log.

Channels are the profile's (``channels`` in the profile, else the cue service's list), each
named the short way or as ``org/channel`` and resolved like a cue's (``resolve_channel``).
Events go to ``monitor_events.sqlite3`` under the user data dir, next to the cue audit log
they join with on ``channel`` and ``at``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from console.context import AppContext
from console.ops.cues import CueDesk
from console.paths import data_dir
from services.monitor.engine import ChannelTarget, LiveMonitor
from services.monitor.event_log import MonitorEventLog
from services.monitor.model import MonitorEvent, MonitorOptions

EVENT_LOG_FILE = "monitor_events.sqlite3"


def event_log() -> MonitorEventLog:
    """The monitor's event log under the user data dir."""
    return MonitorEventLog(data_dir() / EVENT_LOG_FILE)


async def channel_targets(
    context: AppContext, names: list[str] | None = None
) -> list[ChannelTarget]:
    """The channels to watch: ``names`` resolved to ``org/channel`` (every channel of the
    profile when empty) with their multivariant playlist URLs. Raises ``Rejected`` for an
    unknown or ambiguous name, the cue service's ``ServiceError`` when it cannot list."""
    desk = CueDesk(context)
    channels = [await desk.resolve(n) for n in names] if names else await desk.channels()
    return [ChannelTarget(c, desk.master_url(c)) for c in dict.fromkeys(channels)]


class MonitorRun:
    """One monitoring session: the engine over ``targets`` and the event log it writes.

    ``on_event`` (optional) also receives every event; events are stored in batches
    (``flush()``; every 20 events and when the run ends)."""

    def __init__(
        self,
        targets: list[ChannelTarget],
        *,
        options: MonitorOptions | None = None,
        log: MonitorEventLog | None = None,
        on_event: Callable[[MonitorEvent], None] | None = None,
    ) -> None:
        self.log = log or event_log()
        self._pending: list[MonitorEvent] = []
        self._on_event = on_event
        self.raised = 0
        self.monitor = LiveMonitor(targets, options, on_event=self._event)

    def _event(self, event: MonitorEvent) -> None:
        self._pending.append(event)
        self.raised += int(event.state == "raised")
        if self._on_event is not None:
            self._on_event(event)
        if len(self._pending) >= 20:
            self.flush()

    def flush(self) -> None:
        """Store the pending events (a write failure is dropped, not raised: the monitor
        must keep watching; the events stay in ``monitor.events``)."""
        pending, self._pending = self._pending, []
        try:
            self.log.append(pending)
        except (OSError, sqlite3.Error):
            pass

    async def run(self, duration_s: float | None = None) -> None:
        """Watch until ``stop()`` or ``duration_s``; the events are stored at the end."""
        try:
            await self.monitor.run(duration_s)
        finally:
            self.flush()

    def stop(self) -> None:
        self.monitor.stop()
