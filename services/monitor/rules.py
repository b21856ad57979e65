"""The live monitor's rules: from what was last read of each variant to the alarms (pure
functions, no I/O; ``services.monitor.engine`` calls them every evaluation tick).

Per variant (a finished playlist, EXT-X-ENDLIST, is not live and is not judged):

- **unreadable**: the last reload failed (HTTP error, ``PlaylistError``);
- **depleted**: the window is emptying (segments leave it and none is added), holds less
  than 3 × the target duration of media, or ends at a break's CUE-IN with no content
  segment after it (the old stack's failure: a window that empties after an ad break).
  Depletion explains staleness, so a depleted variant is not also reported stale;
- **stale**: the newest segment has not advanced for more than 3 × the target duration
  (RFC 8216 §6.2.1: a server adds segments at the pace of the target duration; §6.3.4 has a
  client give up after a stale reload pattern of that order);
- **latency**: the median of the last few manifest requests (request → last byte) exceeds
  the target (100 ms, the stateless plan's).

Per channel (variants of one channel must match, RFC 8216 §6.2.2 numbering and §6.2.4
"a server MUST … synchronize" the variants' content):

- **drift**: a variant whose segments are numbered differently from the channel's median
  variant: the same media sequence number dated more than one segment apart (by
  PROGRAM-DATE-TIME), or no number in common; a variant that merely lags is stale, not
  drifting;
- **partial break**: a segment number that an ad break covers on some variants and not on
  another variant that has the same segment.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import datetime

from services.monitor.model import Alarm, AlarmKind, BreakSeen, MonitorOptions, VariantWatch


def _when(mono_age_s: float) -> str:
    return f"{mono_age_s:.1f} s"


def variant_alarms(watch: VariantWatch, now_mono: float, options: MonitorOptions) -> list[Alarm]:
    """The alarms of one variant on its own (see the module docstring)."""
    alarms: list[Alarm] = []

    def alarm(kind: AlarmKind, detail: str) -> None:
        alarms.append(Alarm(kind, watch.channel, watch.name, detail))

    if watch.error is not None:
        alarm(AlarmKind.UNREADABLE, watch.error)
    playlist = watch.playlist
    target = watch.target_duration or 0.0
    median = watch.latency.recent_median(options.latency_recent)
    if median is not None and median > options.latency_target_ms:
        alarm(
            AlarmKind.LATENCY,
            f"median of the last {options.latency_recent} manifest requests {median:.0f} ms "
            f"> {options.latency_target_ms:.0f} ms target",
        )
    if playlist is None or playlist.endlist or target <= 0:
        return alarms
    depleted = _depletion(watch, target, options)
    if depleted:
        alarm(AlarmKind.DEPLETED, depleted)
    elif watch.advanced_mono is not None:
        age = now_mono - watch.advanced_mono
        limit = options.stale_targets * target
        if age > limit:
            since = watch.advanced_at.strftime("%H:%M:%S") if watch.advanced_at else "?"
            alarm(
                AlarmKind.STALE,
                f"newest segment {watch.newest} unchanged since {since} UTC ({_when(age)} > "
                f"{options.stale_targets:g} × {target:g} s target duration)",
            )
    return alarms


def _depletion(watch: VariantWatch, target: float, options: MonitorOptions) -> str:
    playlist = watch.playlist
    assert playlist is not None
    dangling = [m for m in playlist.markers if m.kind == "cue-in" and m.sequence is None]
    if dangling:
        return "the playlist ends at a break's CUE-IN with no content segment after it"
    if watch.lost_segments:
        return (
            f"the window is emptying: {watch.lost_segments} segment(s) left it since segment "
            f"{watch.newest}, the newest, and none was added"
        )
    window = watch.window_s
    if window < options.depletion_targets * target:
        return (
            f"live window {window:.1f} s ({len(playlist.segments)} segments) < "
            f"{options.depletion_targets:g} × {target:g} s target duration"
        )
    return ""


def _coverage(watch: VariantWatch) -> dict[int, set[str]]:
    """Segment sequence number → ids of the breaks covering it, on this variant."""
    playlist = watch.playlist
    covered: dict[int, set[str]] = {}
    if playlist is None or not playlist.segments:
        return covered
    first, last = playlist.segments[0].sequence, playlist.segments[-1].sequence
    for span in watch.spans:
        start = span.out_sequence if span.out_sequence is not None else first
        end = span.in_sequence if span.in_sequence is not None else last + 1
        for sequence in range(max(start, first), min(end, last + 1)):
            covered.setdefault(sequence, set()).add(break_key(span))
    return covered


def _dates(watch: VariantWatch) -> dict[int, datetime]:
    playlist = watch.playlist
    if playlist is None:
        return {}
    return {s.sequence: s.program_date_time for s in playlist.segments if s.program_date_time}


def channel_alarms(watches: Iterable[VariantWatch], options: MonitorOptions) -> list[Alarm]:
    """Drift and partial breaks among the readable live variants of one channel."""
    live = [
        w
        for w in watches
        if w.error is None and w.playlist is not None and w.newest is not None
        and not w.playlist.endlist
    ]  # fmt: skip
    if len(live) < 2:
        return []
    alarms: list[Alarm] = []
    reference_newest = statistics.median_low(w.newest for w in live)
    reference = next(w for w in live if w.newest == reference_newest)
    target = reference.target_duration or 1.0
    drifting: set[str] = set()
    reference_dates = _dates(reference)
    for watch in live:
        if watch is reference:
            continue
        detail = _drift(watch, reference, reference_dates, target, options)
        if detail:
            drifting.add(watch.name)
            alarms.append(Alarm(AlarmKind.DRIFT, watch.channel, watch.name, detail))
    alarms += _partial_breaks([w for w in live if w.name not in drifting])
    return alarms


def _drift(
    watch: VariantWatch,
    reference: VariantWatch,
    reference_dates: dict[int, datetime],
    target: float,
    options: MonitorOptions,
) -> str:
    """Why ``watch`` is numbered differently from ``reference``, or "". Segments are
    matched by number: the same number must carry the same PROGRAM-DATE-TIME (± one
    segment). A variant that only lags (stale, not renumbered) is not drifting."""
    dates = _dates(watch)
    shared = sorted(set(dates) & set(reference_dates))
    if shared:
        skew = (dates[shared[-1]] - reference_dates[shared[-1]]).total_seconds()
        if abs(skew) > options.drift_segments * target + 0.5:
            return (
                f"segments numbered {-skew / target:+.0f} from {reference.name}: segment "
                f"{shared[-1]} here is dated {skew:+.1f} s from segment {shared[-1]} there"
            )
        return ""
    if not dates or not reference_dates:
        gap = watch.newest - reference.newest
        both_live = watch.changed_last and reference.changed_last
        if both_live and abs(gap) > options.drift_segments:
            return f"newest segment {watch.newest}, {gap:+d} from {reference.name}"
        return ""
    gap = watch.newest - reference.newest
    if not (watch.changed_last and reference.changed_last):
        return ""  # one of them is not advancing: stale, not renumbered
    return f"no segment number in common with {reference.name} (newest {gap:+d} from it)"


def _partial_breaks(live: list[VariantWatch]) -> list[Alarm]:
    coverage = {w.name: _coverage(w) for w in live}
    sequences = {w.name: {s.sequence for s in w.playlist.segments} for w in live}
    alarms: list[Alarm] = []
    for watch in live:
        missing: dict[str, int] = {}
        for other in live:
            if other is watch:
                continue
            for sequence, ids in coverage[other.name].items():
                if sequence not in sequences[watch.name]:
                    continue
                for break_id in ids - coverage[watch.name].get(sequence, set()):
                    missing.setdefault(break_id, sequence)
        for break_id, sequence in sorted(missing.items()):
            alarms.append(
                Alarm(
                    AlarmKind.PARTIAL_BREAK,
                    watch.channel,
                    watch.name,
                    f"ad break {break_id} covers segment {sequence} on other variants, not here",
                )
            )
    return alarms


def break_key(span) -> str:
    """A break's id, or for an unnamed vendor break (``#EXT-X-CUE-OUT:30`` with no ID and no
    SCTE-35) its style: what the variants of one channel are compared by."""
    return span.id or f"({span.style}, unnamed)"


def breaks_seen(watches: Iterable[VariantWatch]) -> list[BreakSeen]:
    """The ad breaks in the channel's windows, by id, with the variants that carry them."""
    found: dict[str, dict] = {}
    for watch in watches:
        for span in watch.breaks:
            entry = found.setdefault(
                break_key(span),
                {"variants": set(), "active": False, "start": span.start, "span": span},
            )
            entry["variants"].add(watch.name)
            entry["active"] |= span.in_sequence is None
            entry["start"] = entry["start"] or span.start
    seen = []
    for break_id, entry in found.items():
        span = entry["span"]
        splice = span.splice_out
        seen.append(
            BreakSeen(
                break_id,
                tuple(sorted(entry["variants"])),
                entry["active"],
                entry["start"],
                span.planned_duration,
                splice.event_id if splice is not None else None,
            )
        )
    return seen
