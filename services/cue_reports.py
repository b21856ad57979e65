"""What a cue verification reports, how it is timed, and how it recognises the break.

The results of ``services.cue_verify.verify_break`` (frozen dataclasses): a ``VariantReport``
per variant of the live playlist (its ``Phase``: waiting → marker → returned → verified, or
stale / missed / failed) and a ``Verification`` per channel; ``VerifyOptions`` times the
polling (seconds). The two rules that tie a playlist to the break the cue service answered
(docs/contracts.md §1.2) are here too: ``matching_spans`` (the same ``EXT-X-DATERANGE`` ID, RFC 8216
§4.3.2.7, or SCTE-35 event id, or a CUE-OUT dated at the break's start) and
``check_splice`` (the SCTE-35 cue out describes the break: SCTE 35 §9.7.3, §9.8.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services import scte35
from services.ad_breaks import AdBreakSpan
from services.cue_tags import CuePlaylist
from services.cues import AdBreak

#: seconds between two reads of a variant playlist
POLL_INTERVAL_S = 0.5
#: the marker must show within this many target durations after the cue's answer
MARKER_DEADLINE_TARGETS = 3.0
#: a playlist whose newest segment does not change for this many target durations is stale
STALE_AFTER_TARGETS = 3.0
#: new segments required after the return to network
AFTER_SEGMENTS = 2
#: SCTE-35 break_duration must equal the planned duration within this many seconds
SCTE35_DURATION_TOLERANCE_S = 0.001


class Phase(StrEnum):
    """Where a variant is in the verification; the last three are failures."""

    WAITING = "waiting"
    MARKER = "marker"
    RETURNED = "returned"
    VERIFIED = "verified"
    STALE = "stale"
    MISSED = "missed"
    FAILED = "failed"


FAILED_PHASES = frozenset({Phase.STALE, Phase.MISSED, Phase.FAILED})


@dataclass(frozen=True)
class VariantReport:
    """One variant's verification.

    ``url`` of its media playlist, ``name`` (the URI as the multivariant playlist lists
    it), ``bandwidth`` in bits/s; ``phase``; ``marker_after_s`` seconds from the cue's answer
    to the first read showing the break; ``marker_styles`` (``"daterange"``, ``"cue-out"``);
    ``splice`` the decoded SCTE-35 cue out; ``returned_at`` the date of the first segment
    after the break; ``cue_in_drift_s`` that date minus the planned end (s, positive = late);
    ``media_sequence`` of the newest segment seen; ``segments_after_return`` new segments
    since the return; ``detail`` a readable sentence (why it failed, when it did).
    """

    url: str
    name: str
    bandwidth: int | None = None
    phase: Phase = Phase.WAITING
    marker_after_s: float | None = None
    marker_styles: tuple[str, ...] = ()
    splice: scte35.SpliceInfo | None = None
    returned_at: datetime | None = None
    cue_in_drift_s: float | None = None
    media_sequence: int | None = None
    segments_after_return: int = 0
    detail: str = ""

    @property
    def failed(self) -> bool:
        """Whether the variant ended stale, missed or failed."""
        return self.phase in FAILED_PHASES

    def describe(self) -> str:
        """One line for an operator: phase, time to marker, SCTE-35, drift, advancing."""
        parts = [f"{self.name}: {self.phase.value}"]
        if self.marker_after_s is not None:
            parts.append(
                f"marker after {self.marker_after_s:.1f} s ({'+'.join(self.marker_styles)})"
            )
        if self.splice is not None and self.splice.splice_insert is not None:
            insert = self.splice.splice_insert
            duration = insert.duration.seconds if insert.duration else None
            parts.append(
                f"SCTE-35 splice_insert event {insert.event_id}, "
                f"{'out of network' if insert.out_of_network else 'return'}"
                + (f", {duration:.3f} s" if duration is not None else "")
            )
        if self.cue_in_drift_s is not None:
            parts.append(f"CUE-IN drift {self.cue_in_drift_s:+.1f} s")
        if self.phase in (Phase.RETURNED, Phase.VERIFIED):
            parts.append(f"{self.segments_after_return} segments after the break")
        if self.detail:
            parts.append(self.detail)
        return "; ".join(parts)


@dataclass(frozen=True)
class Verification:
    """The verification of one break on one channel: ``variants`` (one report each),
    ``watched_end`` (whether the return and advancing were checked), ``elapsed_s`` seconds
    spent, ``problems`` about the whole channel (e.g. an unreadable multivariant playlist).
    ``ok`` means every variant reached its goal (marker, or verified with ``watched_end``)."""

    channel: str
    event_id: int
    master_url: str
    variants: tuple[VariantReport, ...]
    watched_end: bool
    elapsed_s: float
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every variant reached the goal (see the class docstring)."""
        goal = Phase.VERIFIED if self.watched_end else Phase.MARKER
        reached = (
            {Phase.MARKER, Phase.RETURNED, Phase.VERIFIED}
            if goal is Phase.MARKER
            else {Phase.VERIFIED}
        )
        return (
            bool(self.variants)
            and not self.problems
            and all(v.phase in reached for v in self.variants)
        )

    def summary(self) -> str:
        """``verified on 2/2 variants`` or what failed."""
        if self.problems:
            return "not verified: " + "; ".join(self.problems)
        good = sum(not v.failed for v in self.variants)
        word = "verified" if self.ok else "NOT verified"
        return f"{word} on {good}/{len(self.variants)} variants in {self.elapsed_s:.1f} s"


@dataclass
class VerifyOptions:
    """Timing of a verification (seconds). None = derived from the target duration (see the
    module docstring). ``after_segments`` new segments are required after the return."""

    poll_interval_s: float = POLL_INTERVAL_S
    marker_deadline_s: float | None = None
    stale_after_s: float | None = None
    drift_tolerance_s: float | None = None
    after_segments: int = AFTER_SEGMENTS
    http_timeout_s: float = 5.0


def matching_spans(playlist: CuePlaylist, ad_break: AdBreak) -> list[AdBreakSpan]:
    """The spans of ``playlist`` that are ``ad_break``: same DATERANGE/vendor ID, same SCTE-35
    event id, or a CUE-OUT whose segment is dated at the break's start (± 0.5 s)."""
    found = []
    for span in playlist.ad_breaks():
        same_id = span.id == str(ad_break.event_id)
        same_event = span.splice_out is not None and span.splice_out.event_id == ad_break.event_id
        same_start = (
            span.style == "cue-out"
            and span.start is not None
            and abs((span.start - ad_break.start_time).total_seconds()) <= 0.5
        )
        if same_id or same_event or same_start:
            found.append(span)
    return found


def check_splice(splice: scte35.SpliceInfo | None, ad_break: AdBreak) -> str:
    """Why the SCTE-35 cue out does not describe ``ad_break`` (SCTE 35 §9.7.3, §9.8.2), or
    ``""`` when it does (or when there is none: DATERANGE without SCTE35-OUT is legal)."""
    if splice is None:
        return ""
    if not splice.crc_ok:
        return "SCTE-35 CRC_32 mismatch"
    insert = splice.splice_insert
    if insert is None:
        return f"SCTE-35 is a {splice.command_name}, not a splice_insert"
    if insert.event_id != ad_break.event_id:
        return f"SCTE-35 splice_event_id {insert.event_id} ≠ event {ad_break.event_id}"
    if not insert.out_of_network:
        return "SCTE-35 cue out has out_of_network_indicator = 0"
    planned = ad_break.duration if ad_break.stopped_at is None else None
    if insert.duration is None:
        return "SCTE-35 cue out has no break_duration"
    if planned is not None and abs(insert.duration.seconds - planned) > SCTE35_DURATION_TOLERANCE_S:
        return f"SCTE-35 break_duration {insert.duration.seconds:.3f} s ≠ planned {planned:g} s"
    return ""
