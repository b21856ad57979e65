"""Step 3 of a spot-check, per rung: every rule applied to what steps 1 and 2 learned of one
rung (``RungState``) against the reference (``ReferenceState``), as one ``RungReport``
with its checks in ``CHECK_ORDER`` (the report schema lists the same names).

The rules are in their modules: ``integrity``, ``structure`` (RFC 8216 playlist rules,
keyframes, bandwidth, codecs, resolution), ``alignment`` (the ladder's segment grid),
``signalling`` (colour tags, IDR at every segment start), ``quality`` (pooled metrics,
frame count, duration, A/V offset), ``segments`` (per-segment floors), ``freezes`` and
``av_sync`` (A/V drift). A rule that cannot run says why: ``skip`` when the cause is
reported by another check (a missing object fails integrity, a changed ``master.v1.m3u8``
is no reference), ``fail`` otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.hls import resolve_key
from services.ladder import Ladder, Rung, plan_rungs
from services.spotcheck import integrity, quality, structure
from services.spotcheck.av_sync import av_offsets, check_av_drift
from services.spotcheck.checks import Check, RungReport, check, skipped
from services.spotcheck.freezes import check_freezes
from services.spotcheck.inspection import RungState
from services.spotcheck.measurement import ReferenceState
from services.spotcheck.segments import check_segments, segment_quality
from services.spotcheck.signalling import check_colour, check_idr

CHECK_ORDER = (
    "integrity.objects",
    "integrity.playlist_uris",
    "structure.playlist",
    "structure.target_duration",
    "structure.keyframes",
    "structure.idr",
    "structure.alignment",
    "structure.bandwidth",
    "structure.codecs",
    "structure.resolution",
    "structure.colour",
    "quality.metrics",
    "quality.segments",
    "quality.freezes",
    "quality.frames",
    "quality.duration",
    "quality.av_offset",
    "quality.av_drift",
)
"""The order of a rung's checks in reports."""

_PLAYLIST_CHECKS = (
    "integrity.playlist_uris",
    "structure.target_duration",
    "structure.keyframes",
    "structure.idr",
    "structure.alignment",
    "structure.bandwidth",
    "structure.codecs",
    "structure.resolution",
    "structure.colour",
)
_PROBED = ("structure.keyframes", "structure.idr", "structure.resolution", "structure.colour")
_MEASURED = ("quality.segments", "quality.freezes")
_TIMED = ("quality.frames", "quality.duration", "quality.av_offset", "quality.av_drift")
_MISSING = "not read: the rung has missing objects (see integrity)"


@dataclass(frozen=True)
class RungContext:
    """What every rung's checks share: the ``ladder``, the game's stored ``listing`` (key ->
    bytes), its key ``prefix``, the ``alignment`` check of each rung (computed over all
    rungs at once, ``services.spotcheck.alignment``) and each probed rung's A/V offset
    (seconds) for the sibling comparison of ``quality.av_offset``."""

    ladder: Ladder
    listing: Mapping[str, int]
    prefix: str
    alignment: Mapping[str, Check]
    av_offsets: Mapping[str, float] = field(default_factory=dict)


def rung_report(rung: RungState, reference: ReferenceState, context: RungContext) -> RungReport:
    row = rung.row
    checks = list(rung.checks)
    measures: dict[str, object] = {}
    ladder_rung = next((r for r in context.ladder.rungs if r.name == row.rung), None)
    if rung.playlist is None:
        checks.append(check("structure.playlist", [rung.playlist_problem]))
        why = "the rung playlist is unreadable"
        checks += [skipped(n, why) for n in _PLAYLIST_CHECKS]
    else:
        recorded = [o.key for o in row.objects]
        checks += [
            integrity.check_playlist_uris(
                row.playlist, rung.playlist, context.listing, recorded, context.prefix
            ),
            check("structure.playlist", []),
            structure.check_target_duration(rung.playlist),
            context.alignment.get(row.rung) or skipped("structure.alignment", "not compared"),
        ]
        checks += _stream_checks(rung, reference, context, measures)
    checks += _quality_checks(rung, reference, context, ladder_rung, measures)
    pooled = quality.pooled_series(rung.series) if rung.series is not None else {}
    order = {name: i for i, name in enumerate(CHECK_ORDER)}
    checks.sort(key=lambda c: order.get(c.name, len(order)))
    return RungReport(row.rung, tuple(checks), pooled, measures, rung.series)


def _planned_size(ladder: Ladder, rung: str, reference: ReferenceState) -> tuple[int, int] | None:
    if reference.probe is None:
        return None
    planned, _ = plan_rungs(ladder, reference.probe.width, reference.probe.height)
    match = next((p for p in planned if p.rung.name == rung), None)
    return None if match is None else (match.width, match.height)


def _stream_checks(
    rung: RungState,
    reference: ReferenceState,
    context: RungContext,
    measures: dict[str, object],
) -> list[Check]:
    playlist = rung.playlist
    assert playlist is not None
    out: list[Check] = []
    probe = rung.probe
    if rung.variant is None:
        why = "the rung is not listed in master.m3u8"
        out += [skipped("structure.bandwidth", why), skipped("structure.codecs", why)]
    else:
        recorded = {o.key: o.size for o in rung.row.objects}
        keys = {s.uri: resolve_key(rung.row.playlist, s.uri) or "" for s in playlist.segments}
        sizes = {u: context.listing.get(k, recorded.get(k, 0)) for u, k in keys.items()}
        bandwidth, measured = structure.check_bandwidth(playlist, rung.variant, sizes)
        measures.update(measured)
        out.append(bandwidth)
    codecs = () if rung.variant is None else ("structure.codecs",)
    if rung.missing:
        return out + [skipped(n, _MISSING) for n in (*_PROBED, *codecs)]
    if probe is None:
        why = f"the rung cannot be probed: {rung.probe_problem}"
        return out + [check(n, [why]) for n in (*_PROBED, *codecs)]
    out.append(structure.check_keyframes(playlist, probe))
    if rung.packets is not None:
        out.append(check_idr(playlist, probe, rung.packets.idr_times))
    elif reference.disqualified:
        out.append(skipped("structure.idr", reference.problem))
    else:
        why = rung.logs_problem or rung.metrics_problem or reference.problem
        out.append(check("structure.idr", [why or "the IDR packets were not logged"]))
    if rung.variant is not None:
        out.append(structure.check_codecs(rung.variant, rung.init, probe))
    planned = _planned_size(context.ladder, rung.row.rung, reference)
    declared = rung.variant.resolution if rung.variant else None
    out.append(structure.check_resolution(probe, planned, declared))
    if rung.colour is None:
        out.append(check("structure.colour", [rung.colour_problem or "colour tags not read"]))
    elif reference.disqualified:
        out.append(skipped("structure.colour", reference.problem))
    elif reference.colour is None:
        out.append(check("structure.colour", [reference.colour_problem or reference.problem]))
    else:
        out.append(check_colour(rung.colour, reference.colour, reference.kind))
    return out


def _quality_checks(
    rung: RungState,
    reference: ReferenceState,
    context: RungContext,
    ladder_rung: Rung | None,
    measures: dict[str, object],
) -> list[Check]:
    ladder, siblings = context.ladder, context.av_offsets
    names = ("quality.metrics", *_MEASURED, *_TIMED)
    ref_probe = reference.probe
    if ref_probe is None:
        if reference.disqualified:
            return [skipped(n, reference.problem) for n in names]
        return [check(n, [reference.problem]) for n in names]
    out: list[Check] = []
    if rung.metrics_problem:
        verdict = skipped if rung.missing else (lambda n, why: check(n, [why]))
        out += [verdict(n, rung.metrics_problem) for n in ("quality.metrics", *_MEASURED)]
    elif ladder_rung is None:
        why = f"{rung.row.rung} is not a rung of {ladder.label}: no thresholds"
        out += [check(n, [why]) for n in ("quality.metrics", *_MEASURED)]
    elif rung.series is not None:
        out.append(quality.check_metrics(quality.pooled_series(rung.series), ladder_rung))
        out += _per_frame_checks(rung, reference, ladder_rung, measures)
    if rung.missing:
        return out + [skipped(n, _MISSING) for n in _TIMED]
    if rung.probe is None:
        why = f"the rung cannot be probed: {rung.probe_problem or rung.playlist_problem}"
        return out + [check(n, [why]) for n in _TIMED]
    measures.update(quality.timing_measures(rung.probe, ref_probe))
    out += [
        quality.check_frames(rung.probe, ref_probe),
        quality.check_duration(rung.probe, ref_probe),
        quality.check_av_offset(rung.probe, ref_probe, ladder, list(siblings.values())),
        _drift_check(rung, reference, ladder, ladder_rung, measures),
    ]
    return out


def _per_frame_checks(
    rung: RungState, reference: ReferenceState, ladder_rung: Rung, measures: dict[str, object]
) -> list[Check]:
    """``quality.segments`` and ``quality.freezes`` of a rung whose metrics were placed."""
    assert rung.series is not None and reference.probe is not None
    frame_s = reference.probe.frame_duration
    out: list[Check] = []
    if rung.playlist is None:
        out.append(check("quality.segments", [rung.playlist_problem]))
    else:
        segments = segment_quality(rung.series, rung.playlist, frame_s)
        measures["segments"] = [s.as_json() for s in segments]
        out.append(check_segments(segments, ladder_rung, rung.series))
    if rung.motion is None or reference.motion is None or rung.previous_psnr is None:
        why = rung.logs_problem or reference.logs_problem or "no motion was logged"
        out.append(check("quality.freezes", [why]))
    else:
        assert rung.values is not None
        freezes, runs = check_freezes(
            rung.motion,
            reference.motion,
            rung.values.psnr_db,
            rung.previous_psnr,
            ladder_rung,
            frame_s,
            rung.playlist,
        )
        measures["frozen_frames"] = sum(r.frames for r in runs)
        out.append(freezes)
    return out


def _drift_check(
    rung: RungState,
    reference: ReferenceState,
    ladder: Ladder,
    ladder_rung: Rung | None,
    measures: dict[str, object],
) -> Check:
    assert rung.probe is not None and reference.probe is not None
    name = "quality.av_drift"
    if ladder_rung is None:
        return check(name, [f"{rung.row.rung} is not a rung of {ladder.label}: no thresholds"])
    if rung.packets is None:
        return check(name, [rung.logs_problem or rung.metrics_problem or "no packets logged"])
    mine = av_offsets(rung.probe, rung.packets)
    theirs = av_offsets(reference.probe, reference.packets) if reference.packets else None
    if mine is None and theirs is None:
        if reference.probe.has_audio and reference.packets is None:
            return check(name, [reference.logs_problem or "the reference's audio was not logged"])
        return check(name, [], ["neither the rung nor the reference has audio"])
    if mine is None or theirs is None:
        which = "the rung has no audio" if mine is None else "the reference has no audio"
        return check(name, [which])
    drift, figures = check_av_drift(mine, theirs, ladder, ladder_rung)
    measures.update(figures)
    return drift
