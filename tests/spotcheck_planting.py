"""Planting one fault in one segment of one rung of a backfilled test game (issue 17).

``encode_twin`` encodes one rung exactly as the ladder does (the same x264 and AAC
settings, one x264 thread, the same HLS muxer options), from the short v1, with a fault
confined where the caller says: a filter enabled on some frames only, x264 zones, a
keyframe rule, an audio filter or a bitstream filter. Without a fault the twin is byte for
byte the backfill's rung (``test_an_unplanted_twin_is_the_backfilled_rung``), so
``plant_objects`` can store just the planted segment (or init section) over the rung's
object: the rest of the rung stays as backfilled. Faults that cannot be spliced (an open
GOP reaches into the previous segment, a keyframe rule moves every boundary, a stretched
audio track) replace the whole rung with its twin (``spotcheck_support.replace_rung``).
Either way the ledger and the master are rewritten for the new bytes (sizes, SHA-256,
bandwidth), so only the planted fault can fail. Everything is written to the test bucket.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import replace
from pathlib import Path

from services.abr.ledger import LedgerObject
from services.abr.multivariant import measure_bandwidth, multivariant_text
from services.hls import parse_playlist
from services.ladder import Ladder, plan_rungs
from services.media_tools.binaries import ffmpeg_exe
from tests.backfill_support import BackfillRig
from tests.spotcheck_support import GOP, ledger_of

SOURCE_SIZE = (1280, 720)
"""The short v1's coded size (the demo clip): what the ladder's rung sizes follow."""


def rung_size(ladder: Ladder, rung: str) -> tuple[int, int]:
    planned, _ = plan_rungs(ladder, *SOURCE_SIZE)
    plan = next(p for p in planned if p.rung.name == rung)
    return plan.width, plan.height


def encode_twin(
    v1_dir: Path,
    out: Path,
    ladder: Ladder,
    rung: str,
    *,
    before_scale: str = "",
    x264_params: str = "open-gop=0",
    force_key_frames: str = f"expr:eq(mod(n,{GOP}),0)",
    video_args: tuple[str, ...] = (),
    audio_filter: str = "",
) -> Path:
    """Encode ``rung`` of ``ladder`` from the short v1 in ``v1_dir`` into ``out``
    (``index.m3u8``, ``init.mp4``, ``seg_0000N.m4s``). ``before_scale``: a filter graph
    fragment applied to the decoded frames before the rung's ``scale`` (it may split and
    use labels, ending with a filter); ``x264_params``, ``force_key_frames``: as the
    ladder's (``open-gop=0``, an IDR every ``GOP`` frames) unless a fault changes them;
    ``video_args``: more video output options (``-bsf:v ...``); ``audio_filter``: an
    ``-af`` chain."""
    spec = next(r for r in ladder.rungs if r.name == rung)
    width, height = rung_size(ladder, rung)
    out.mkdir(parents=True, exist_ok=True)
    chain = (f"{before_scale}," if before_scale else "") + f"scale={width}:{height},setsar=1"
    argv = [
        ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(v1_dir / "master.m3u8"),
        "-filter_complex",
        f"[0:v:0]{chain}[v]",
        "-map",
        "[v]",
        "-map",
        "0:a:0",
        "-c:v",
        ladder.video_encoder,
        "-preset",
        ladder.preset,
        "-profile:v",
        spec.profile,
        "-level:v",
        spec.level,
        "-pix_fmt",
        ladder.pix_fmt,
        "-b:v",
        str(spec.bitrate),
        "-maxrate",
        str(spec.maxrate),
        "-bufsize",
        str(spec.bufsize),
        "-g",
        str(GOP),
        "-keyint_min",
        str(GOP),
        "-sc_threshold",
        "0",
        "-force_key_frames",
        force_key_frames,
        "-x264-params",
        x264_params,
        *video_args,
        "-fps_mode",
        "passthrough",
        "-threads",
        "1",
        "-map_metadata",
        "-1",
        *(["-af", audio_filter] if audio_filter else []),
        "-c:a",
        ladder.audio_encoder,
        "-b:a",
        str(spec.audio_bitrate),
        "-ac",
        str(ladder.audio_channels),
        "-ar",
        str(ladder.audio_sample_rate),
        *hls_output(out, ladder.segment_seconds),
    ]
    subprocess.run(argv, check=True)
    return out


def hls_output(out: Path, segment_seconds: int) -> list[str]:
    """ffmpeg output options writing a rung as the ladder does: fMP4 VOD HLS cut every
    ``segment_seconds`` s into ``out`` (``index.m3u8``, ``init.mp4``, ``seg_0000N.m4s``)."""
    return [
        "-f",
        "hls",
        "-hls_time",
        str(segment_seconds),
        "-hls_playlist_type",
        "vod",
        "-hls_segment_type",
        "fmp4",
        "-hls_flags",
        "temp_file+independent_segments",
        "-hls_fmp4_init_filename",
        "init.mp4",
        "-hls_segment_filename",
        str(out / "seg_%05d.m4s"),
        str(out / "index.m3u8"),
    ]


def plant_objects(
    rig: BackfillRig, game_id: str, rung: str, folder: Path, names: list[str]
) -> None:
    """Store the files ``names`` of ``folder`` (a twin of ``rung``) over the rung's objects
    of the same names, then rewrite that ledger row (object sizes and SHA-256, measured
    bandwidth) and the master to match. Raises ``AssertionError`` when the twin's playlist
    differs from the stored one (then a splice would not be a segment swap)."""
    prefix = f"games/{game_id}/abr/{rung}/"
    stored_playlist = rig.read(prefix + "index.m3u8")
    assert (folder / "index.m3u8").read_bytes() == stored_playlist, "the twin cuts elsewhere"
    ledger = ledger_of(rig, game_id)
    row = next(r for r in ledger.renditions if r.rung == rung)
    objects = {o.key: o for o in row.objects}
    for name in names:
        data = (folder / name).read_bytes()
        rig.put(prefix + name, data)
        objects[prefix + name] = LedgerObject(
            prefix + name, len(data), hashlib.sha256(data).hexdigest()
        )
    playlist = parse_playlist(stored_playlist)
    peak, average = measure_bandwidth(
        [(objects[prefix + s.uri].size, s.duration) for s in playlist.segments]
    )
    planted = replace(
        row,
        objects=tuple(objects[o.key] for o in row.objects),
        bandwidth=peak,
        average_bandwidth=average,
    )
    rows = tuple(planted if r.rung == rung else r for r in ledger.renditions)
    rig.put(f"games/{game_id}/abr/renditions.json", replace(ledger, renditions=rows).to_bytes())
    rig.put(f"games/{game_id}/master.m3u8", multivariant_text(rows, f"games/{game_id}/").encode())
