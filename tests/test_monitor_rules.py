"""The live monitor's rules on hand-made playlists (no network): the cases the demo faults
do not produce — a window ending at a CUE-IN, a short window, a break missing on one variant,
playlists without PROGRAM-DATE-TIME — and that a lagging variant is stale, not drifting."""

from __future__ import annotations

from services.cue_tags import parse_cues
from services.monitor.model import AlarmKind, MonitorOptions, VariantWatch
from services.monitor.rules import channel_alarms, variant_alarms

OPTIONS = MonitorOptions()


def _playlist(first: int, count: int, *, dates: bool = True, cue_on: int | None = None,
              tail: str = "") -> str:  # fmt: skip
    lines = ["#EXTM3U", "#EXT-X-TARGETDURATION:2", f"#EXT-X-MEDIA-SEQUENCE:{first}"]
    for sequence in range(first, first + count):
        if dates:
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:2026-12-03T10:00:{sequence * 2 % 60:02d}Z")
        if cue_on is not None and sequence == cue_on:
            lines.append("#EXT-X-CUE-OUT:30")
        elif cue_on is not None and sequence > cue_on:
            lines.append(f"#EXT-X-CUE-OUT-CONT:{(sequence - cue_on) * 2}/30")
        lines += ["#EXTINF:2.000,", f"seg_{sequence}.ts"]
    return "\n".join(lines) + "\n" + tail


def _watch(name: str, text: str, *, advanced: float = 100.0, changed: bool = True) -> VariantWatch:
    playlist = parse_cues(text, name)
    watch = VariantWatch("demo/ch", name, f"http://cdn/{name}")
    watch.playlist, watch.target_duration = playlist, 2.0
    watch.newest, watch.advanced_mono, watch.changed_last = (
        playlist.last_sequence,
        advanced,
        changed,
    )
    watch.spans = playlist.ad_breaks()
    return watch


def _kinds(alarms) -> list[tuple[str, str]]:
    return sorted((a.kind.value, a.variant) for a in alarms)


def test_a_window_that_ends_at_a_cue_in_is_depleted_not_stale():
    watch = _watch("a.m3u8", _playlist(10, 6, cue_on=12, tail="#EXT-X-CUE-IN\n"), advanced=0)
    alarms = variant_alarms(watch, now_mono=100.0, options=OPTIONS)
    assert _kinds(alarms) == [("depleted", "a.m3u8")]
    assert "CUE-IN" in alarms[0].detail


def test_a_short_window_is_depleted():
    alarms = variant_alarms(_watch("a.m3u8", _playlist(10, 2)), 100.0, OPTIONS)
    assert _kinds(alarms) == [("depleted", "a.m3u8")] and "4.0 s" in alarms[0].detail


def test_an_unchanged_newest_segment_is_stale_after_three_target_durations():
    watch = _watch("a.m3u8", _playlist(10, 6))
    assert variant_alarms(watch, 100.0 + 5.9, OPTIONS) == []
    (alarm,) = variant_alarms(watch, 100.0 + 6.1, OPTIONS)
    assert alarm.kind is AlarmKind.STALE and "3 × 2 s" in alarm.detail


def test_a_break_missing_on_one_variant_is_a_partial_break_there():
    with_break = [_watch(n, _playlist(10, 6, cue_on=13)) for n in ("a.m3u8", "b.m3u8")]
    without = _watch("c.m3u8", _playlist(10, 6))
    alarms = channel_alarms([*with_break, without], OPTIONS)
    assert _kinds(alarms) == [("partial-break", "c.m3u8")]
    assert "segment 13" in alarms[0].detail


def test_a_lagging_variant_is_not_drifting_but_a_renumbered_one_is():
    lagging = _watch("b.m3u8", _playlist(4, 6), changed=False)
    healthy = [_watch(n, _playlist(10, 6)) for n in ("a.m3u8", "c.m3u8")]
    assert channel_alarms([*healthy, lagging], OPTIONS) == []
    renumbered = _watch("b.m3u8", _playlist(13, 6))  # same dates as the others' 10…15
    renumbered.playlist = parse_cues(_playlist(10, 6).replace("SEQUENCE:10", "SEQUENCE:13"))
    renumbered.newest = renumbered.playlist.last_sequence
    (alarm,) = channel_alarms([*healthy, renumbered], OPTIONS)
    assert alarm.kind is AlarmKind.DRIFT and alarm.variant == "b.m3u8" and "+3" in alarm.detail


def test_without_program_date_time_drift_is_judged_by_the_newest_segment():
    healthy = [_watch(n, _playlist(10, 6, dates=False)) for n in ("a.m3u8", "c.m3u8")]
    ahead = _watch("b.m3u8", _playlist(14, 6, dates=False))
    (alarm,) = channel_alarms([*healthy, ahead], OPTIONS)
    assert alarm.kind is AlarmKind.DRIFT and "+4" in alarm.detail


def test_slow_manifests_raise_latency_from_the_recent_median():
    watch = _watch("a.m3u8", _playlist(10, 6))
    for i, ms in enumerate([20, 20, 250, 260, 270]):
        watch.latency.add(float(i), ms)
    (alarm,) = variant_alarms(watch, 100.0, OPTIONS)
    assert alarm.kind is AlarmKind.LATENCY and "250 ms" in alarm.detail
    for i in (5.0, 6.0, 7.0):
        watch.latency.add(i, 20)
    assert variant_alarms(watch, 100.0, OPTIONS) == []
