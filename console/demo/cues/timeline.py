"""A demo channel's live timeline: ad breaks and the segments produced along the wall clock.

Time is cut into slots of ``SEGMENT_SECONDS``: slot ``N`` covers ``[N·s, (N+1)·s)`` in Unix
seconds and its media sequence number is ``N`` (so it grows with the wall clock, also across
restarts). A slot is *produced* (published in the playlists, then never changed, RFC 8216
§6.2.1) once its end has passed; the playlists show the last ``WINDOW_SEGMENTS`` produced
slots. A produced slot plays the next content segment (the content loops), or an ad segment
when it falls inside an ad break.

A break starts at the first slot boundary at or after the cue (so no published segment
changes) and lasts whole slots: ``ceil(duration / s)`` of them; its CUE-IN is therefore up to
one segment after the planned end (``start + duration``). Ending a break early moves its end
to the next boundary. A segment that does not continue the previous one (content → ad, ad →
content, the content or the ad creative looping) carries a discontinuity, and the
discontinuity sequence counts those that slid out of the window (RFC 8216 §6.2.2).

*Depletion* (a fault for tests): once a break has ended, the channel publishes one content
segment and then nothing more, while the published segments keep leaving the window as
time passes: the window shrinks to nothing, as the old stack's did after ad breaks.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from console.demo.cues.constants import AD_SECONDS, EXPIRY_GRACE_S


@dataclass
class BreakRecord:
    """One ad break on one channel. Times are Unix seconds; ``start``/``end`` are slot
    boundaries (``end`` = where content resumes), ``planned_duration`` the requested
    seconds, ``stopped_at`` when it was ended early (None otherwise)."""

    event_id: int
    channel: str
    start: float
    end: float
    planned_duration: float
    created_at: float
    pod_id: str
    stopped_at: float | None = None

    @property
    def planned_end(self) -> float:
        return self.start + self.planned_duration

    @property
    def expires_at(self) -> float:
        """The state is forgotten after ``duration + 60 s`` from the start (or after the
        end + 60 s if that is later)."""
        return max(self.start + self.planned_duration, self.end) + EXPIRY_GRACE_S

    def is_active(self, now: float) -> bool:
        """Scheduled or playing: content has not resumed yet."""
        return now < self.end

    def state(self, now: float) -> str:
        if now >= self.end:
            return "ended"
        return "active" if now >= self.start else "scheduled"


@dataclass(frozen=True)
class Slot:
    """A produced segment: media ``sequence``; ``start`` (Unix s, its PROGRAM-DATE-TIME);
    ``source`` ``"content"`` or ``"ad"`` and ``index`` the segment in that source;
    ``discontinuity`` before it; ``break_id`` the event id of the break it belongs to (ad
    slots); ``first_of_break``; ``resumes_after`` the event id of the break that ended just
    before it (the CUE-IN slot)."""

    sequence: int
    start: float
    source: str
    index: int
    discontinuity: bool
    break_id: int | None = None
    first_of_break: bool = False
    resumes_after: int | None = None


@dataclass
class ChannelTimeline:
    """The produced slots and the breaks of one channel (not thread-safe: the service holds
    its lock). ``content_segments``/``ad_segments`` count the media segments; ``offset``
    shifts where in the content loop a channel is; ``window`` the playlist length."""

    channel: str
    content_segments: int
    ad_segments: int
    segment_seconds: float
    window: int
    offset: int = 0
    deplete_after_break: bool = False
    slots: deque[Slot] = field(default_factory=deque)
    discontinuity_sequence: int = 0
    breaks: list[BreakRecord] = field(default_factory=list)
    next_sequence: int | None = None
    depleted: bool = False

    def boundary_at_or_after(self, t: float) -> float:
        """The first slot boundary ≥ ``t`` (Unix s)."""
        return math.ceil(t / self.segment_seconds - 1e-9) * self.segment_seconds

    def slots_for(self, duration: float) -> int:
        """Whole slots an ad break of ``duration`` seconds lasts (≥ 1)."""
        return max(1, math.ceil(duration / self.segment_seconds - 1e-9))

    def current_break(self, now: float) -> BreakRecord | None:
        """The scheduled or playing break, if any."""
        return next((b for b in self.breaks if b.is_active(now)), None)

    def find(self, event_id: int) -> BreakRecord | None:
        return next((b for b in self.breaks if b.event_id == event_id), None)

    def _break_at(self, t: float) -> BreakRecord | None:
        return next((b for b in self.breaks if b.start <= t < b.end), None)

    def _produce(self, sequence: int) -> Slot:
        start = sequence * self.segment_seconds
        previous = self.slots[-1] if self.slots else None
        ad_break = self._break_at(start)
        if ad_break is not None:
            first = round(ad_break.start / self.segment_seconds)
            source, index = "ad", (sequence - first) % self.ad_segments
            break_id, first_of_break = ad_break.event_id, sequence == first
        else:
            source, index = "content", (sequence + self.offset) % self.content_segments
            break_id, first_of_break = None, False
        continues = (
            previous is not None
            and previous.source == source
            and previous.break_id == break_id
            and index == previous.index + 1
        )
        resumes_after = None
        if previous is not None and previous.break_id is not None and previous.break_id != break_id:
            resumes_after = previous.break_id
        return Slot(
            sequence,
            start,
            source,
            index,
            previous is not None and not continues,
            break_id,
            first_of_break,
            resumes_after,
        )

    def advance(self, now: float) -> None:
        """Produce every slot whose end has passed (only the last ``window`` are kept; after
        a long idle time the skipped slots are produced and dropped in turn, so the
        discontinuity sequence stays exact), then forget expired breaks."""
        if self.next_sequence is None:
            self.next_sequence = math.floor(now / self.segment_seconds) - self.window
        while not self.depleted and (self.next_sequence + 1) * self.segment_seconds <= now:
            slot = self._produce(self.next_sequence)
            self.slots.append(slot)
            self.next_sequence += 1
            while len(self.slots) > self.window:
                dropped = self.slots.popleft()
                self.discontinuity_sequence += int(dropped.discontinuity)
            if self.deplete_after_break and slot.resumes_after is not None:
                self.depleted = True
        if self.depleted:  # nothing new, but old segments still leave the window
            horizon = math.floor(now / self.segment_seconds) - self.window
            while self.slots and self.slots[0].sequence < horizon:
                dropped = self.slots.popleft()
                self.discontinuity_sequence += int(dropped.discontinuity)
        window_start = self.slots[0].start if self.slots else now
        self.breaks = [b for b in self.breaks if b.expires_at > now or b.end > window_start]

    def ad_items(self, ad_break: BreakRecord) -> list[tuple[str, float]]:
        """The pod's items, ``(id, seconds)``: the ad creative repeated over the planned
        duration, the last one cut short."""
        items = []
        left = ad_break.planned_duration
        number = 1
        while left > 1e-9:
            items.append((f"{ad_break.pod_id}-{number}", min(float(AD_SECONDS), left)))
            left -= AD_SECONDS
            number += 1
        return items
