"""The cue service's state: the channels' timelines, ``/cue`` requests, idempotency keys and
the injectable faults. Thread-safe (one lock); the HTTP layer is ``routes``."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from console.demo.cues.constants import (
    CHANNELS,
    IDEMPOTENCY_TTL_S,
    MAX_DURATION_S,
    NOMINAL_BPS,
    SEGMENT_SECONDS,
    VARIANTS,
    WINDOW_SEGMENTS,
)
from console.demo.cues.faults import LiveFaults
from console.demo.cues.media import ChannelMedia
from console.demo.cues.playlists import iso, media_playlist
from console.demo.cues.timeline import BreakRecord, ChannelTimeline


class CueRequestError(Exception):
    """A refused ``/cue`` request: HTTP ``status`` and a message; nothing was changed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class CueDesk:
    """Channels, breaks and faults of one cue service.

    ``media`` gives the segment counts; ``clock()`` returns Unix seconds (tests may pass
    their own); ``segment_seconds`` and ``window`` shape the live playlists;
    ``deplete_after_break`` starts with the depletion fault on; ``channels`` the ids.
    """

    def __init__(
        self,
        media: ChannelMedia,
        *,
        clock: Callable[[], float] = time.time,
        segment_seconds: float = SEGMENT_SECONDS,
        window: int = WINDOW_SEGMENTS,
        deplete_after_break: bool = False,
        channels: tuple[str, ...] = CHANNELS,
    ) -> None:
        self.media = media
        self.clock = clock
        self.lock = threading.Lock()
        self.segment_seconds = segment_seconds
        self.window = window
        self.timelines: dict[str, ChannelTimeline] = {}
        for channel in channels:
            self._add_timeline(channel, deplete_after_break)
        self.live_faults = LiveFaults()
        self.fail_cues = 0
        self.fail_status = 503
        self._keys: dict[str, tuple[float, str, int, dict[str, Any]]] = {}
        self._next_event_id = int(clock()) % 0x3FFF_0000 + 1

    # -- channels --------------------------------------------------------------------------

    def _add_timeline(self, channel: str, deplete_after_break: bool = False) -> None:
        index = len(self.timelines)
        self.timelines[channel] = ChannelTimeline(
            channel,
            self.media.content_segments,
            self.media.ad_segments,
            self.segment_seconds,
            self.window,
            offset=index * (self.media.content_segments // 2) % self.media.content_segments,
            deplete_after_break=deplete_after_break,
        )

    def add_channels(self, count: int) -> list[str]:
        """Add ``count`` channels ``demo/extra01``… (load tests of the live monitor); returns
        every channel id. Raises ValueError for a count outside 0…200."""
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 200:
            raise ValueError("count must be an integer from 0 to 200")
        with self.lock:
            number = sum(1 for c in self.timelines if c.startswith("demo/extra"))
            for offset in range(1, count + 1):
                self._add_timeline(f"demo/extra{number + offset:02d}")
            return list(self.timelines)

    def resolve(self, channel: object) -> str | None:
        """The channel id for ``"demo/sports1"`` or the bare ``"sports1"``; None if unknown."""
        if not isinstance(channel, str):
            return None
        if channel in self.timelines:
            return channel
        matches = [c for c in self.timelines if c.split("/", 1)[-1] == channel]
        return matches[0] if len(matches) == 1 else None

    def channel_list(self, base_url: str) -> list[dict[str, Any]]:
        """``[{id, master, variants}]`` for ``GET /channels``."""
        return [
            {
                "id": channel,
                "master": f"{base_url}/{channel}/master.m3u8",
                "variants": [f"{base_url}/{channel}/{v.name}.m3u8" for v in VARIANTS],
            }
            for channel in self.timelines
        ]

    def playlist(self, channel: str, variant: str) -> str:
        """The live media playlist of ``variant`` of ``channel`` right now, as the planted
        faults serve it (``faults.LiveFaults``)."""
        with self.lock:
            now = self.clock()
            timeline = self.timelines[channel]
            timeline.advance(now)
            text = media_playlist(timeline, variant, now)
            return self.live_faults.apply(f"{channel}/{variant}", text)

    def in_break(self, channel: str) -> bool:
        """Whether ``channel`` is playing an ad break right now."""
        with self.lock:
            now = self.clock()
            current = self.timelines[channel].current_break(now)
            return current is not None and current.start <= now

    # -- faults ----------------------------------------------------------------------------

    def set_faults(
        self,
        *,
        deplete_after_break: bool | None = None,
        fail_cues: int | None = None,
        fail_status: int | None = None,
    ) -> dict[str, Any]:
        """Switch the test faults: depletion after a break (every channel; switching it off
        resumes production), the next ``fail_cues`` ``/cue`` requests answered
        ``fail_status`` (5xx) without any change. Returns the current faults."""
        with self.lock:
            if deplete_after_break is not None:
                for timeline in self.timelines.values():
                    timeline.advance(self.clock())
                    timeline.deplete_after_break = deplete_after_break
                    if not deplete_after_break:
                        timeline.depleted = False
            if fail_cues is not None:
                self.fail_cues = max(0, int(fail_cues))
            if fail_status is not None:
                self.fail_status = int(fail_status)
            return self.faults()

    def set_live_faults(self, body: dict[str, Any]) -> dict[str, Any]:
        """Apply the live-stream faults of ``body`` (``faults.LiveFaults.update``); returns
        the current faults. Raises ValueError for a malformed value (nothing changes)."""
        with self.lock:
            updated = LiveFaults(
                dict(self.live_faults.frozen),
                dict(self.live_faults.skew),
                dict(self.live_faults.slow_ms),
                self.live_faults.broken_join,
            )
            updated.update(body)
            self.live_faults = updated
            return self.faults()

    def faults(self) -> dict[str, Any]:
        any_timeline = next(iter(self.timelines.values()))
        return {
            "deplete_after_break": any_timeline.deplete_after_break,
            "fail_cues": self.fail_cues,
            "fail_status": self.fail_status,
            **self.live_faults.as_json(),
        }

    # -- cues ------------------------------------------------------------------------------

    def cue(self, body: object, key: str, base_url: str) -> tuple[int, dict[str, Any], bool]:
        """Handle a ``POST /cue`` body (already JSON-decoded) with its ``Idempotency-Key``
        (``""`` when absent). Returns ``(status, document, replayed)``; errors are
        ``{"error": …}`` documents and change nothing."""
        with self.lock:
            now = self.clock()
            self._keys = {k: v for k, v in self._keys.items() if v[0] > now}
            fingerprint = json.dumps(body, sort_keys=True, default=str)
            if key and key in self._keys:
                _, seen, status, doc = self._keys[key]
                if seen != fingerprint:
                    return (
                        422,
                        {"error": f"Idempotency-Key {key!r} was used for another request"},
                        False,
                    )
                return status, doc, True
            if self.fail_cues > 0:
                self.fail_cues -= 1
                return self.fail_status, {"error": "injected failure (demo fault)"}, False
            try:
                status, doc = self._cue(body, now, base_url)
            except CueRequestError as exc:
                return exc.status, {"error": str(exc)}, False
            if key:
                self._keys[key] = (now + IDEMPOTENCY_TTL_S, fingerprint, status, doc)
            return status, doc, False

    def _cue(self, body: object, now: float, base_url: str) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict):
            raise CueRequestError(400, 'the body must be a JSON object {"channel", "duration"}')
        if "channel" not in body:
            raise CueRequestError(400, "channel is missing")
        channel = self.resolve(body["channel"])
        if channel is None:
            known = ", ".join(self.timelines)
            raise CueRequestError(404, f"unknown channel {body['channel']!r} (known: {known})")
        kind = body.get("type", "start")
        timeline = self.timelines[channel]
        timeline.advance(now)
        if kind == "stop":
            return 200, self._stop(timeline, now, base_url)
        if kind != "start":
            raise CueRequestError(422, f"type must be 'start' or 'stop', not {kind!r}")
        duration = body.get("duration")
        if isinstance(duration, bool) or not isinstance(duration, int | float):
            raise CueRequestError(422, "duration must be a number of seconds")
        if not math.isfinite(duration) or duration <= 0 or duration > MAX_DURATION_S:
            raise CueRequestError(
                422, f"duration must be > 0 and ≤ {MAX_DURATION_S:g} seconds, not {duration!r}"
            )
        current = timeline.current_break(now)
        if current is not None:
            raise CueRequestError(
                409,
                f"an ad break (event {current.event_id}) is already {current.state(now)} on "
                f"{channel} until {iso(current.end)}",
            )
        start = timeline.boundary_at_or_after(now)
        event_id = self._next_event_id
        self._next_event_id += 1
        record = BreakRecord(
            event_id=event_id,
            channel=channel,
            start=start,
            end=start + timeline.slots_for(duration) * timeline.segment_seconds,
            planned_duration=float(duration),
            created_at=now,
            pod_id=f"pod-{event_id}",
        )
        timeline.breaks.append(record)
        return 201, self.answer(record, now, base_url)

    def _stop(self, timeline: ChannelTimeline, now: float, base_url: str) -> dict[str, Any]:
        current = timeline.current_break(now)
        if current is None:
            raise CueRequestError(409, f"no ad break is active on {timeline.channel}")
        current.end = max(current.start, timeline.boundary_at_or_after(now))
        current.stopped_at = now
        return self.answer(current, now, base_url)

    def answer(self, record: BreakRecord, now: float, base_url: str) -> dict[str, Any]:
        """The ad break state of DESIGN §1.2 (times ISO-8601 UTC). ``duration``/``endTime``
        are planned (or, once ended early, actual); ``breakEndTime`` is where content
        resumes in the playlists (a segment boundary)."""
        stopped = record.stopped_at is not None
        duration = (record.end - record.start) if stopped else record.planned_duration
        timeline = self.timelines[record.channel]
        items = [
            {
                "id": item_id,
                "duration": seconds,
                "variants": {
                    str(NOMINAL_BPS.get(v.name, 0)): f"{base_url}/ads/creative-1/{v.name}.m3u8"
                    for v in VARIANTS
                },
            }
            for item_id, seconds in timeline.ad_items(record)
        ]
        return {
            "channelId": record.channel,
            "eventId": record.event_id,
            "source": "manual",
            "startTime": iso(record.start),
            "duration": duration,
            "endTime": iso(record.start + duration),
            "breakEndTime": iso(record.end),
            "state": record.state(now),
            "stoppedAt": iso(record.stopped_at) if stopped else None,
            "decision": {"podId": record.pod_id, "items": items},
            "createdAt": iso(record.created_at),
        }
