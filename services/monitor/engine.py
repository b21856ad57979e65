"""The live monitor: every variant of every channel polled continuously (asyncio, one httpx
client, bounded concurrency), the rules of ``services.monitor.rules`` evaluated twice a
second, alarms raised and cleared as events, late joiners sent during breaks (no Qt).

Reload cadence (RFC 8216 §6.3.4): the next reload of a variant starts one target duration
after the previous one *started* when the playlist changed, half a target duration after
it when it did not (so a stalled playlist is noticed quickly and a healthy one is not
hammered). Variants start at phases spread over a period, so their reloads do not come in
one burst. The multivariant playlist is read at start and every ``master_reload_s``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from services.clock import utc_now
from services.cue_tags import parse_cues
from services.errors import PlaylistError
from services.hls import MultivariantPlaylist, parse_playlist
from services.monitor.late_join import JoinResult, late_join
from services.monitor.model import (
    Alarm,
    AlarmKind,
    BreakSeen,
    JoinTally,
    MonitorEvent,
    MonitorOptions,
    VariantStatus,
    VariantWatch,
)
from services.monitor.rules import breaks_seen, channel_alarms, variant_alarms

EVALUATE_EVERY_S = 0.5
MASTER = "master.m3u8"
CHANNEL_WIDE = "*"
"""The ``variant`` of a channel-wide alarm (a late joiner's, whatever variant it took)."""


@dataclass(frozen=True)
class ChannelTarget:
    """A channel to watch: ``channel`` id (``org/name``) and its multivariant playlist URL."""

    channel: str
    master_url: str


class LiveMonitor:
    """Watches ``targets`` until ``stop()`` (or the ``duration_s`` given to ``run``).

    ``on_event(MonitorEvent)`` is called on the running loop for every alarm raised or
    cleared, break seen or ended, and late join. ``statuses()``, ``alarms()``,
    ``breaks(channel)`` and ``joins`` read the current state at any time.
    """

    def __init__(
        self,
        targets: list[ChannelTarget],
        options: MonitorOptions | None = None,
        *,
        on_event: Callable[[MonitorEvent], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.targets = list(targets)
        self.options = options or MonitorOptions()
        self.on_event = on_event
        self.clock = clock
        self.watches: dict[str, list[VariantWatch]] = {t.channel: [] for t in self.targets}
        self.joins: dict[str, JoinTally] = {t.channel: JoinTally() for t in self.targets}
        self.events: deque[MonitorEvent] = deque(maxlen=5000)
        self._active: dict[tuple[AlarmKind, str, str], Alarm] = {}
        self._join_alarms: dict[str, Alarm] = {}
        self._breaks: dict[str, dict[str, BreakSeen]] = {t.channel: {} for t in self.targets}
        self._last_join: dict[str, float] = {}
        self._join_turn: dict[str, int] = {}
        self._channel_cache: dict[str, tuple[tuple, list[Alarm]]] = {}
        self._phases = 0
        self._stop = asyncio.Event()
        self._client: httpx.AsyncClient | None = None
        self._semaphore = asyncio.Semaphore(self.options.concurrency)
        self._tasks: set[asyncio.Task] = set()
        self.requests = 0

    # -- public ------------------------------------------------------------------------------

    async def run(self, duration_s: float | None = None) -> None:
        """Watch until ``stop()`` or ``duration_s`` seconds (None: until stopped)."""
        limits = httpx.Limits(max_connections=self.options.concurrency)
        timeout = httpx.Timeout(self.options.timeout_s)
        async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
            self._client = client
            for target in self.targets:
                self._spawn(self._channel(target))
            self._spawn(self._evaluate_loop())
            try:
                await asyncio.wait_for(self._stop.wait(), duration_s)
            except TimeoutError:
                pass
            finally:
                for task in list(self._tasks):
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)
                self._client = None
        self.evaluate()

    def stop(self) -> None:
        """End ``run`` (safe from the loop's thread at any time)."""
        self._stop.set()

    def alarms(self) -> list[Alarm]:
        """The alarms active now, by channel then variant."""
        return sorted(self._active.values(), key=lambda a: (a.channel, a.variant, a.kind))

    def breaks(self, channel: str) -> list[BreakSeen]:
        """The breaks in ``channel``'s windows now."""
        return list(self._breaks.get(channel, {}).values())

    def statuses(self) -> list[VariantStatus]:
        """One row per channel × variant (a channel whose master was never read has one row
        ``master.m3u8``)."""
        rows = []
        for target in self.targets:
            for watch in self.watches[target.channel]:
                rows.append(self._status(watch))
        return rows

    # -- polling -----------------------------------------------------------------------------

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _get(self, url: str) -> tuple[httpx.Response, float]:
        """GET ``url`` → ``(response, milliseconds request → last byte)``."""
        assert self._client is not None
        async with self._semaphore:
            started = time.perf_counter()
            response = await self._client.get(url)
            self.requests += 1
            return response, (time.perf_counter() - started) * 1000

    async def _channel(self, target: ChannelTarget) -> None:
        master = VariantWatch(target.channel, MASTER, target.master_url)
        running: dict[str, asyncio.Task] = {}
        while True:
            try:
                response, _ = await self._get(target.master_url)
                if response.status_code != 200:
                    raise PlaylistError(f"HTTP {response.status_code}", uri=MASTER)
                playlist = parse_playlist(response.text, target.master_url)
                if not isinstance(playlist, MultivariantPlaylist) or not playlist.variants:
                    raise PlaylistError("lists no variant stream (RFC 8216 §4.3.4.2)", uri=MASTER)
            except (httpx.HTTPError, PlaylistError) as exc:
                master.error = _reason(exc)
                if master not in self.watches[target.channel]:
                    self.watches[target.channel].insert(0, master)
                await asyncio.sleep(2.0)
                continue
            if master in self.watches[target.channel]:
                self.watches[target.channel].remove(master)
            for variant in playlist.variants:
                url = urljoin(target.master_url, variant.uri)
                name = url.rsplit("/", 1)[-1]
                if name not in running:
                    watch = VariantWatch(target.channel, name, url)
                    self.watches[target.channel].append(watch)
                    running[name] = self._spawn(self._variant(watch, self._next_phase()))
            await asyncio.sleep(self.options.master_reload_s)

    def _next_phase(self) -> float:
        """Where in a reload period (s) the next variant starts: spread evenly (golden-ratio
        steps over the 2 s a demo/live target duration usually is), so hundreds of variants
        do not reload, and answer, in the same instant."""
        self._phases += 1
        return (self._phases * 0.618034) % 1.0 * 2.0

    async def _variant(self, watch: VariantWatch, phase_s: float = 0.0) -> None:
        await asyncio.sleep(phase_s)
        while True:
            started = self.clock()
            changed = await self._reload(watch, started)
            target = watch.target_duration or 2.0
            wait = target if changed else target / 2
            await asyncio.sleep(max(0.05, started + wait - self.clock()))

    async def _reload(self, watch: VariantWatch, started: float) -> bool:
        """Read ``watch``'s playlist once; returns whether it changed."""
        try:
            response, ms = await self._get(watch.url)
            watch.latency.add(started, ms)
            if response.status_code != 200:
                raise PlaylistError(f"HTTP {response.status_code}", uri=watch.name)
            text = response.text
            unchanged = text == watch.last_text and watch.playlist is not None
            playlist = watch.playlist if unchanged else parse_cues(text, watch.name)
        except (httpx.HTTPError, PlaylistError) as exc:
            if watch.error is None:
                watch.error_since_mono = started
            watch.error = _reason(exc)
            return False
        watch.error = watch.error_since_mono = None
        watch.reloads += 1
        changed = text != watch.last_text
        watch.last_text = text
        watch.playlist = playlist
        if changed:
            watch.spans = playlist.ad_breaks()
        watch.target_duration = float(playlist.target_duration or 0)
        newest = playlist.last_sequence
        previous = watch.playlist_sequence
        watch.playlist_sequence = playlist.media_sequence
        if newest is not None and newest == watch.newest and previous is not None:
            watch.lost_segments += max(0, playlist.media_sequence - previous)
        elif newest is None and watch.newest is not None:
            watch.lost_segments += max(0, playlist.media_sequence - (previous or 0))
        else:
            watch.lost_segments = 0
        if newest is not None and newest != watch.newest:
            watch.newest = newest
            watch.advanced_mono = started
            watch.advanced_at = utc_now()
        elif watch.advanced_mono is None:
            watch.advanced_mono, watch.advanced_at = started, utc_now()
        if newest is not None:
            watch.sequence_history.append(newest)
        watch.changed_last = changed
        return changed

    # -- evaluation --------------------------------------------------------------------------

    async def _evaluate_loop(self) -> None:
        while True:
            self.evaluate()
            await asyncio.sleep(EVALUATE_EVERY_S)

    def evaluate(self) -> None:
        """Apply the rules now: emit raised/cleared events, track breaks, send late joiners."""
        now = self.clock()
        current: dict[tuple[AlarmKind, str, str], Alarm] = {}
        for target in self.targets:
            watches = self.watches[target.channel]
            for watch in watches:
                for alarm in variant_alarms(watch, now, self.options):
                    current[alarm.key] = alarm
            for alarm in self._channel_alarms(target.channel, watches):
                current.setdefault(alarm.key, alarm)
            join_alarm = self._join_alarms.get(target.channel)
            if join_alarm is not None:
                current[join_alarm.key] = join_alarm
            self._track_breaks(target, watches, now)
        for key, alarm in current.items():
            if key not in self._active:
                self._emit("raised", alarm.kind, alarm.channel, alarm.variant, alarm.detail)
        for key, alarm in self._active.items():
            if key not in current:
                self._emit("cleared", alarm.kind, alarm.channel, alarm.variant, alarm.detail)
        self._active = current

    def _channel_alarms(self, channel: str, watches: list[VariantWatch]) -> list[Alarm]:
        """``channel_alarms`` of the channel, recomputed only after one of its variants was
        reloaded (they depend on the playlists only, not on the time)."""
        state = tuple((w.name, w.reloads, w.error, w.changed_last) for w in watches)
        cached = self._channel_cache.get(channel)
        if cached is not None and cached[0] == state:
            return cached[1]
        alarms = channel_alarms([w for w in watches if w.name != MASTER], self.options)
        self._channel_cache[channel] = (state, alarms)
        return alarms

    def _track_breaks(self, target: ChannelTarget, watches: list[VariantWatch], now: float) -> None:
        seen = {b.id: b for b in breaks_seen(w for w in watches if w.name != MASTER)}
        known = self._breaks[target.channel]
        for break_id, info in seen.items():
            before = known.get(break_id)
            if before is None and info.active:
                detail = _break_detail(info, first_seen=True)
                self._emit("break-start", "break", target.channel, CHANNEL_WIDE, detail)
            elif before is not None and before.active and not info.active:
                self._emit("break-end", "break", target.channel, CHANNEL_WIDE, f"break {break_id}")
        self._breaks[target.channel] = seen
        active = [b for b in seen.values() if b.active]
        if not active:
            return
        target_s = max((w.target_duration for w in watches), default=2.0) or 2.0
        last = self._last_join.get(target.channel)
        if last is None or now - last >= self.options.join_every_targets * target_s:
            self._last_join[target.channel] = now
            turn = self._join_turn.get(target.channel, 0)
            self._join_turn[target.channel] = turn + 1
            self._spawn(self._join(target, turn))

    async def _join(self, target: ChannelTarget, turn: int) -> None:
        result: JoinResult = await late_join(
            target.master_url, turn, timeout_s=self.options.timeout_s
        )
        tally = self.joins[target.channel]
        tally.joins += 1
        tally.successes += int(result.ok)
        tally.last = result.detail
        self._emit(
            "join-ok" if result.ok else "join-failed",
            "join",
            target.channel,
            result.variant,
            result.detail,
        )
        if result.ok:
            self._join_alarms.pop(target.channel, None)
        else:
            self._join_alarms[target.channel] = Alarm(
                AlarmKind.LATE_JOIN,
                target.channel,
                CHANNEL_WIDE,
                f"a new client on {result.variant}: {result.detail}",
            )

    def _emit(self, state: str, kind: str, channel: str, variant: str, detail: str) -> None:
        event = MonitorEvent(utc_now(), state, str(kind), channel, variant, detail)
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def _status(self, watch: VariantWatch) -> VariantStatus:
        alarms = tuple(
            a
            for a in self._active.values()
            if a.channel == watch.channel and a.variant == watch.name
        )
        playlist = watch.playlist
        breaks = self._breaks.get(watch.channel, {})
        last = next(reversed(breaks.values()), None) if breaks else None
        return VariantStatus(
            channel=watch.channel,
            variant=watch.name,
            url=watch.url,
            media_sequence=playlist.media_sequence if playlist is not None else None,
            newest=watch.newest,
            target_duration=watch.target_duration,
            window_s=watch.window_s,
            segments=len(playlist.segments) if playlist is not None else 0,
            advanced_at=watch.advanced_at,
            latency_p50_ms=watch.latency.percentile(50),
            latency_p95_ms=watch.latency.percentile(95),
            latency_max_ms=watch.latency.max_ms,
            sparkline=tuple(watch.sequence_history),
            last_break=_break_detail(last) if last is not None else "",
            alarms=alarms,
            reloads=watch.reloads,
        )


def _break_detail(info: BreakSeen, *, first_seen: bool = False) -> str:
    state = "on air" if info.active else "ended"
    planned = f", {info.planned_duration:g} s planned" if info.planned_duration else ""
    event = f", SCTE-35 event {info.splice_event_id}" if info.splice_event_id is not None else ""
    where = (
        f"first seen on {', '.join(info.variants)}"
        if first_seen
        else f"on {len(info.variants)} variant(s)"
    )
    return f"break {info.id} {state}{planned}{event}, {where}"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, PlaylistError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
