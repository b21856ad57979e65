"""Verify that an ad break reached viewers: on every variant of the live playlist, and that
the stream keeps advancing after it (no Qt).

After a cue was answered, ``verify_break`` reads the channel's multivariant playlist
(RFC 8216 §4.3.4) and polls **every** variant's media playlist (RFC 8216 §6.3.4: a client
reloads a live playlist about every target duration; here every ``poll_interval_s``) until:

1. **marker**: the variant shows the break, found by its ``EXT-X-DATERANGE`` ID (= event id),
   by the SCTE-35 ``splice_event_id`` of its cue, or by an ``EXT-X-CUE-OUT`` on the segment
   dated at the break's start (styles: ``services.cue_tags``). The deadline is
   ``marker_deadline_s`` after the cue's answer, by default 3 × the target duration. The
   SCTE-35 cue out (SCTE 35 §9.7.3) must be a splice_insert, out of network, with the break's
   event id and a ``break_duration`` (§9.8.2) equal to the planned duration (± 1 ms).
2. **return** (``watch_end``): the variant shows the return to network (a ``SCTE35-IN`` date
   range or ``EXT-X-CUE-IN``) by the planned end + the marker deadline. The *CUE-IN drift* is
   the PROGRAM-DATE-TIME (RFC 8216 §4.3.2.6) of the first segment after the break minus the
   planned end; more than ``drift_tolerance_s`` (default one target duration) either way
   fails.
3. **advancing**: after the return, ``after_segments`` new segments appear.

A variant whose newest segment does not change for ``stale_after_s`` (default 3 × target
duration) is **stale**, at any phase: a live playlist that stops gaining segments is what
broke the old stack after ad breaks (a depleted playlist). A playlist that cannot be read
(HTTP error, ``PlaylistError``) for that long also fails.

Results are the frozen dataclasses of ``services.cue_reports`` (with the timing options and
the two rules that recognise the break); ``on_update(VariantReport)`` is called at each
change of a variant's phase (and with its first sighting), on the caller's loop.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from urllib.parse import urljoin

import httpx

from services.ad_breaks import AdBreakSpan
from services.clock import utc_now
from services.cue_reports import (
    MARKER_DEADLINE_TARGETS,
    STALE_AFTER_TARGETS,
    Phase,
    VariantReport,
    Verification,
    VerifyOptions,
    check_splice,
    matching_spans,
)
from services.cue_tags import CuePlaylist, parse_cues
from services.cues import AdBreak
from services.errors import PlaylistError, ServiceError, Unreachable, UpstreamError
from services.hls import MediaPlaylist, MultivariantPlaylist, parse_playlist


class _Fetcher:
    """GETs playlists like a viewer's player (no credentials), mapping failures to
    ``services.errors``."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def text(self, url: str) -> str:
        try:
            response = await self.client.get(url)
        except httpx.TransportError as exc:
            raise Unreachable(f"Cannot read {url}: {type(exc).__name__}.") from exc
        if response.status_code >= 500:
            raise UpstreamError(f"Reading {url} failed (HTTP {response.status_code}).")
        if response.status_code != 200:
            raise ServiceError(f"Reading {url} answered HTTP {response.status_code}.")
        return response.text


async def verify_break(
    master_url: str,
    ad_break: AdBreak,
    *,
    answered_at: float,
    watch_end: bool = True,
    options: VerifyOptions | None = None,
    planned_end: Callable[[], datetime] | None = None,
    on_update: Callable[[VariantReport], None] | None = None,
    client: httpx.AsyncClient | None = None,
) -> Verification:
    """Verify ``ad_break`` on every variant of ``master_url`` (see the module docstring).

    ``answered_at`` is the ``time.monotonic()`` of the cue's answer (time-to-marker counts
    from it); ``planned_end()`` gives the planned end now (it moves when the break is ended
    early; default ``ad_break.end_time``); ``client`` an httpx client to reuse (closed by the
    caller), else one is made. Never raises for what it observes: failures are in the
    result. Raises only ``asyncio.CancelledError`` when cancelled.
    """
    options = options or VerifyOptions()
    started = time.monotonic()
    own = client is None
    http = client or httpx.AsyncClient(timeout=options.http_timeout_s, follow_redirects=True)
    fetcher = _Fetcher(http)
    end_of = planned_end or (lambda: ad_break.end_time)
    try:
        try:
            variants = await _variants(fetcher, master_url)
        except (ServiceError, PlaylistError) as exc:
            return Verification(
                ad_break.channel_id,
                ad_break.event_id,
                master_url,
                (),
                watch_end,
                time.monotonic() - started,
                (str(exc),),
            )
        watchers = [
            _VariantWatch(
                fetcher, report, ad_break, answered_at, watch_end, options, end_of, on_update
            )
            for report in variants
        ]
        reports = await asyncio.gather(*(w.run() for w in watchers))
    finally:
        if own:
            await http.aclose()
    return Verification(
        ad_break.channel_id,
        ad_break.event_id,
        master_url,
        tuple(reports),
        watch_end,
        time.monotonic() - started,
    )


async def _variants(fetcher: _Fetcher, master_url: str) -> list[VariantReport]:
    """The variants of the multivariant playlist (a media playlist counts as one variant)."""
    playlist = parse_playlist(await fetcher.text(master_url), master_url)
    if isinstance(playlist, MediaPlaylist):
        return [VariantReport(master_url, master_url.rsplit("/", 1)[-1])]
    assert isinstance(playlist, MultivariantPlaylist)
    if not playlist.variants:
        raise PlaylistError("lists no variant stream (RFC 8216 §4.3.4.2)", uri=master_url)
    return [
        VariantReport(urljoin(master_url, v.uri), v.uri, v.bandwidth) for v in playlist.variants
    ]


class _VariantWatch:
    """The polling loop of one variant (one task)."""

    def __init__(
        self, fetcher, report, ad_break, answered_at, watch_end, options, end_of, on_update
    ) -> None:
        self.fetcher = fetcher
        self.report: VariantReport = report
        self.ad_break: AdBreak = ad_break
        self.answered_at = answered_at
        self.watch_end = watch_end
        self.options: VerifyOptions = options
        self.end_of = end_of
        self.on_update = on_update
        self.last_sequence: int | None = None
        self.last_progress = time.monotonic()
        self.return_sequence: int | None = None
        self.target = 2.0
        self.last_error = ""

    def _set(self, **changes) -> None:
        before = self.report.phase
        self.report = replace(self.report, **changes)
        if self.on_update is not None and (self.report.phase != before or "detail" in changes):
            self.on_update(self.report)

    def _limit(self, value: float | None, targets: float) -> float:
        return value if value is not None else targets * self.target

    async def run(self) -> VariantReport:
        while True:
            now = time.monotonic()
            try:
                playlist = parse_cues(await self.fetcher.text(self.report.url), self.report.url)
            except PlaylistError as exc:
                self._set(phase=Phase.FAILED, detail=f"malformed playlist: {exc}")
                return self.report
            except ServiceError as exc:
                self.last_error = str(exc)
                if now - self.last_progress > self._limit(
                    self.options.stale_after_s, STALE_AFTER_TARGETS
                ):
                    self._set(phase=Phase.FAILED, detail=f"unreadable: {self.last_error}")
                    return self.report
                await asyncio.sleep(self.options.poll_interval_s)
                continue
            if playlist.target_duration:
                self.target = float(playlist.target_duration)
            if self._step(playlist, now):
                return self.report
            await asyncio.sleep(self.options.poll_interval_s)

    def _step(self, playlist: CuePlaylist, now: float) -> bool:
        """Advance the phase with one read; True when this variant is done."""
        newest = playlist.last_sequence
        if newest is not None and (self.last_sequence is None or newest > self.last_sequence):
            self.last_sequence = newest
            self.last_progress = now
            self.report = replace(self.report, media_sequence=newest)
        elif now - self.last_progress > self._limit(
            self.options.stale_after_s, STALE_AFTER_TARGETS
        ):
            self._set(
                phase=Phase.STALE,
                detail=f"no new segment for {now - self.last_progress:.1f} s "
                f"(media sequence stuck at {self.last_sequence}): the playlist is stale",
            )
            return True
        spans = matching_spans(playlist, self.ad_break)
        phase = self.report.phase
        if phase is Phase.WAITING:
            return self._wait_marker(spans, now)
        if phase is Phase.MARKER:
            return self._wait_return(playlist, spans)
        if phase is Phase.RETURNED:
            after = (self.last_sequence or 0) - (self.return_sequence or 0)
            if after != self.report.segments_after_return:
                self.report = replace(self.report, segments_after_return=after)
            if after >= self.options.after_segments:
                self._set(phase=Phase.VERIFIED)
                return True
        return False

    def _wait_marker(self, spans: list[AdBreakSpan], now: float) -> bool:
        if not spans:
            limit = self._limit(self.options.marker_deadline_s, MARKER_DEADLINE_TARGETS)
            if now - self.answered_at > limit:
                self._set(
                    phase=Phase.MISSED,
                    detail=f"no marker of event {self.ad_break.event_id} within {limit:.1f} s",
                )
                return True
            return False
        splice = next((s.splice_out for s in spans if s.splice_out is not None), None)
        styles = tuple(dict.fromkeys(s.style for s in spans))
        problem = check_splice(splice, self.ad_break)
        if problem:
            self._set(
                phase=Phase.FAILED,
                marker_after_s=now - self.answered_at,
                marker_styles=styles,
                splice=splice,
                detail=problem,
            )
            return True
        self._set(
            phase=Phase.MARKER,
            marker_after_s=max(0.0, now - self.answered_at),
            marker_styles=styles,
            splice=splice,
        )
        return not self.watch_end

    def _wait_return(self, playlist: CuePlaylist, spans: list[AdBreakSpan]) -> bool:
        planned = self.end_of()
        returns = [s.in_sequence for s in spans if s.in_sequence is not None]
        if not returns:
            limit = self._limit(self.options.marker_deadline_s, MARKER_DEADLINE_TARGETS)
            late = (utc_now() - planned).total_seconds()
            if late > limit:
                self._set(
                    phase=Phase.MISSED, detail=f"no CUE-IN {late:.1f} s after the planned end"
                )
                return True
            return False
        sequence = min(returns)
        segment = next((s for s in playlist.segments if s.sequence == sequence), None)
        returned_at = segment.program_date_time if segment is not None else None
        drift = (returned_at - planned).total_seconds() if returned_at is not None else None
        self.return_sequence = sequence
        tolerance = self._limit(self.options.drift_tolerance_s, 1.0)
        if drift is not None and math.fabs(drift) > tolerance:
            self._set(
                phase=Phase.FAILED,
                returned_at=returned_at,
                cue_in_drift_s=drift,
                detail=f"CUE-IN {drift:+.1f} s off the planned end (tolerance {tolerance:g} s)",
            )
            return True
        self._set(
            phase=Phase.RETURNED,
            returned_at=returned_at,
            cue_in_drift_s=drift,
            segments_after_return=(self.last_sequence or sequence) - sequence,
        )
        return False
