"""Which cue markers are ad breaks, and how they group into breaks (no Qt, no I/O).

The one place deciding what an ad break is. A vendor cue tag (``EXT-X-CUE-OUT`` /
``-CONT`` / ``-IN`` / ``-SPAN``, ``EXT-OATCLS-SCTE35``) always marks an ad. An
``EXT-X-DATERANGE`` is generic (RFC 8216 §4.3.2.7: any application's date range); it marks an
ad only when it carries one of:

- an SCTE-35 attribute, ``SCTE35-OUT`` / ``SCTE35-IN`` / ``SCTE35-CMD`` (§4.3.2.7.1);
- an ad ``CLASS`` (``AD_CLASSES``: Apple's HLS interstitials, the SCTE-35 binary scheme);
- a vendor ad attribute (``AD_ATTRIBUTE_PREFIXES``: ``X-AD-…``, the interstitial
  ``X-ASSET-URI`` / ``X-ASSET-LIST``);

or when it shares the ``ID`` of a date range that did (the closing tag of a break that only
adds ``END-DATE``/``DURATION``). Every other date range is left out of the breaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from services import scte35

if TYPE_CHECKING:
    from services.cue_tags import CueMarker

AD_CLASSES = frozenset(
    {
        "com.apple.hls.interstitial",
        "urn:scte:scte35:2013:bin",
        "urn:scte:scte35:2014:xml+bin",
    }
)
"""DATERANGE CLASS values that mean an ad (Apple HLS Interstitials; SCTE 35 §12 schemes)."""
AD_ATTRIBUTE_PREFIXES = ("X-AD-", "X-ASSET-URI", "X-ASSET-LIST")
"""Client attribute names (RFC 8216 §4.3.2.7 ``X-…``) that ad servers write on ad date ranges."""
VENDOR_KINDS = frozenset({"cue-out", "cue-out-cont", "cue-in", "cue-span", "oatcls"})


@dataclass(frozen=True)
class AdBreakSpan:
    """An ad break as a playlist shows it, whatever the style.

    ``id`` (DATERANGE ID, vendor ID or splice event id as text, None when unknown);
    ``style`` ``"daterange"`` or ``"cue-out"``; ``out_sequence`` the first ad segment (None
    when the break began before the window); ``in_sequence`` the first segment after it
    (None while it goes on); ``start`` its date; ``planned_duration``/``duration`` in
    seconds; ``splice_out``/``splice_in`` the decoded SCTE-35 sections when present.
    """

    id: str | None
    style: str
    out_sequence: int | None
    in_sequence: int | None
    start: datetime | None
    planned_duration: float | None
    duration: float | None
    splice_out: scte35.SpliceInfo | None
    splice_in: scte35.SpliceInfo | None


def is_ad_marker(marker: CueMarker) -> bool:
    """True when ``marker`` marks an ad by itself (see the module docstring)."""
    if marker.kind in VENDOR_KINDS:
        return True
    if marker.scte35_role is not None or (marker.cls or "") in AD_CLASSES:
        return True
    return any(name.startswith(AD_ATTRIBUTE_PREFIXES) for name in marker.attributes)


@dataclass
class _Open:
    """A break being assembled."""

    id: str | None
    style: str
    out: int | None
    start: datetime | None
    planned: float | None
    duration: float | None = None
    inn: int | None = None
    splice_out: scte35.SpliceInfo | None = None
    splice_in: scte35.SpliceInfo | None = None

    def span(self) -> AdBreakSpan:
        return AdBreakSpan(
            self.id,
            self.style,
            self.out,
            self.inn,
            self.start,
            self.planned,
            self.duration,
            self.splice_out,
            self.splice_in,
        )


def _shifted(when: datetime | None, seconds: float | None) -> datetime | None:
    """``when`` − ``seconds``; None when either is unknown or the date leaves the calendar."""
    if when is None or seconds is None:
        return when
    try:
        return when - timedelta(seconds=seconds)
    except OverflowError:
        return None


def _seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def group_breaks(markers: tuple[CueMarker, ...]) -> tuple[AdBreakSpan, ...]:
    """The ad breaks the markers describe, in playlist order. Never raises: a date that
    cannot be computed (an elapsed time beyond the calendar) is left unknown."""
    spans: list[_Open] = []
    by_id: dict[str, _Open] = {}
    vendor: _Open | None = None
    oatcls: CueMarker | None = None
    for marker in markers:
        if marker.kind == "daterange":
            _daterange(marker, spans, by_id)
        elif marker.kind == "oatcls":
            oatcls = marker
        elif marker.kind in ("cue-out", "cue-out-cont", "cue-span"):
            if marker.kind == "cue-out" or vendor is None:
                vendor = _vendor_open(marker, oatcls)
                spans.append(vendor)
            elif vendor.splice_out is None and marker.splice is not None:
                vendor.splice_out = marker.splice
        elif marker.kind == "cue-in" and vendor is not None:
            vendor.inn = marker.sequence
            vendor.duration = _seconds_between(vendor.start, marker.segment_date)
            vendor = None
    return tuple(span.span() for span in spans)


def _daterange(marker: CueMarker, spans: list[_Open], by_id: dict[str, _Open]) -> None:
    span = by_id.get(marker.id or "")
    if span is None:
        if marker.scte35_role == "cmd" or not is_ad_marker(marker):
            return
        span = _Open(marker.id, "daterange", None, marker.start_date, marker.planned_duration)
        span.duration = marker.duration
        by_id[marker.id or ""] = span
        spans.append(span)
    span.start = span.start or marker.start_date
    if span.planned is None:
        span.planned = marker.planned_duration
    if marker.duration is not None:
        span.duration = marker.duration
    if marker.scte35_role == "in":
        span.inn = marker.sequence
        span.splice_in = marker.splice
    else:
        if span.out is None:
            span.out = marker.sequence
        span.splice_out = span.splice_out or marker.splice


def _vendor_open(marker: CueMarker, oatcls: CueMarker | None) -> _Open:
    splice = marker.splice or (
        oatcls.splice if oatcls is not None and oatcls.sequence == marker.sequence else None
    )
    first = marker.kind == "cue-out"
    start = marker.segment_date if first else _shifted(marker.segment_date, marker.elapsed)
    event = str(splice.event_id) if splice is not None and splice.event_id is not None else None
    return _Open(
        marker.id or event,
        "cue-out",
        marker.sequence if first else None,
        start,
        marker.duration,
        splice_out=splice,
    )
