"""The one-decode ladder encode: one ffmpeg process, ``split`` + ``scale``, one fMP4 HLS
output per rung.

The command (built with ffmpeg-python, run with the pinned binary) decodes the v1 source
once, splits the frames to one ``scale`` per rung and encodes every rung with:

- ``-fps_mode passthrough``: every rung carries exactly the source's frames (without it an
  fMP4 source whose audio starts first gets a duplicated first frame, docs/platform.md);
- a closed GOP of ``gop`` frames with an IDR forced by frame number
  (``expr:eq(mod(n,gop),0)``), ``-g``/``-keyint_min`` = ``gop``, ``-sc_threshold 0``: every
  segment of every rung starts with a keyframe on the same frame (Apple HLS authoring §1.11);
  forcing by frame number rather than by time keeps all rungs on the same frames;
- one x264 thread per rung: x264 with frame threads is not bit-reproducible in this build
  (measured: two runs differ), and resuming by checksum needs identical bytes on a re-run.
  The rungs run in parallel in the one process, so both cores stay busy (13.4 s vs 13.9 s
  for three rungs of a 30 s 720p game on 2 cores);
- ``-filter_complex_threads`` = the core count: the split + scale graph otherwise runs in
  one thread and holds back the encoders (measured: same bytes with or without it);
- ``-hls_flags temp_file``: a segment appears under its final name only once complete, so
  the uploader can take every ``seg_*.m4s`` it sees.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ffmpeg

from services.errors import MediaError
from services.ladder import Ladder, PlannedRung
from services.media_tools.probe import RenditionProbe
from services.media_tools.runner import run_tool

PLAYLIST_NAME = "index.m3u8"
INIT_NAME = "init.mp4"
SEGMENT_PATTERN = "seg_%05d.m4s"
SEGMENT_RE = re.compile(r"^seg_\d{5}\.m4s$")

_INPUT_TROUBLE = ("Failed to open segment", "Invalid data found", "error while decoding")


@dataclass(frozen=True)
class EncodeProgress:
    """One ``-progress`` report: ``out_time`` in seconds of output written, ``frame`` the
    frames encoded (of the first output), ``speed`` the realtime factor (None early on)."""

    out_time: float
    frame: int
    speed: float | None


def ladder_command(
    exe: str,
    source_url: str,
    source: RenditionProbe,
    ladder: Ladder,
    planned: list[PlannedRung],
    gop: int,
    out_dir: Path,
    *,
    x264_threads: int = 1,
) -> list[str]:
    """The argv encoding ``planned`` rungs of ``ladder`` from ``source_url`` into
    ``out_dir/{rung}/index.m3u8`` (+ ``init.mp4``, ``seg_00000.m4s``...), progress
    key=value lines on stdout. ``gop`` is in frames. ``x264_threads`` other than 1 (0:
    x264's automatic count) gives up reproducible output; benchmarks use it for baselines."""
    src = ffmpeg.input(source_url, rw_timeout=20_000_000)
    split = src["v:0"].filter_multi_output("split", len(planned))
    outputs = []
    for index, plan in enumerate(planned):
        rung = plan.rung
        rung_dir = out_dir / rung.name
        video = split.stream(index).filter("scale", plan.width, plan.height).filter("setsar", "1")
        streams = [video, src["a:0"]] if source.has_audio else [video]
        options = {
            "c:v": ladder.video_encoder,
            "preset": ladder.preset,
            "profile:v": rung.profile,
            "level:v": rung.level,
            "pix_fmt": ladder.pix_fmt,
            "b:v": rung.bitrate,
            "maxrate": rung.maxrate,
            "bufsize": rung.bufsize,
            "g": gop,
            "keyint_min": gop,
            "sc_threshold": 0,
            "force_key_frames": f"expr:eq(mod(n,{gop}),0)",
            "x264-params": "open-gop=0",
            "fps_mode": "passthrough",
            "threads": x264_threads,
            "map_metadata": -1,
            "f": "hls",
            "hls_time": ladder.segment_seconds,
            "hls_playlist_type": "vod",
            "hls_segment_type": "fmp4",
            "hls_flags": "temp_file+independent_segments",
            "hls_fmp4_init_filename": INIT_NAME,
            "hls_segment_filename": str(rung_dir / SEGMENT_PATTERN),
        }
        if source.has_audio:
            options.update(
                {
                    "c:a": ladder.audio_encoder,
                    "b:a": rung.audio_bitrate,
                    "ac": ladder.audio_channels,
                    "ar": ladder.audio_sample_rate,
                }
            )
        outputs.append(ffmpeg.output(*streams, str(rung_dir / PLAYLIST_NAME), **options))
    merged = ffmpeg.merge_outputs(*outputs).global_args(
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "warning",
        "-nostats",
        "-progress",
        "pipe:1",
        "-filter_complex_threads",
        str(max(2, os.cpu_count() or 2)),
    )
    return merged.compile(cmd=exe, overwrite_output=True)


class LadderEncode:
    """Runs one ladder command. ``run()`` returns when ffmpeg exits 0 and raises
    ``MediaError`` otherwise (with ffmpeg's last warnings), or when the input had decode
    trouble (a missing or truncated segment: ffmpeg only warns and goes on). ``hide`` (the
    gateway's secret URL prefix) is removed from every warning kept. ffmpeg runs through
    ``services.media_tools.runner.run_tool``: niced, dying with the console, stopped when
    ``run()`` is cancelled. ``frames`` is the frame count of the last progress report;
    ``warnings`` ffmpeg's last 40 stderr lines once ``run()`` is done."""

    def __init__(
        self, argv: list[str], on_progress: Callable[[EncodeProgress], None], *, hide: str = ""
    ) -> None:
        self.argv = argv
        self.hide = hide
        self.on_progress = on_progress
        self.frames = 0
        self.warnings: tuple[str, ...] = ()

    async def run(self) -> None:
        result = await run_tool(self.argv, hide=self.hide, on_progress=self._progress)
        self.warnings = result.warnings
        trouble = [w for w in self.warnings if any(t in w for t in _INPUT_TROUBLE)]
        if result.code != 0:
            said = "; ".join(self.warnings[-3:]) or f"exit status {result.code}"
            raise MediaError(f"The ladder encode failed: ffmpeg says {said!r}.")
        if trouble:
            raise MediaError(
                f"The v1 source did not decode cleanly (a missing or truncated segment?): "
                f"ffmpeg says {trouble[0]!r}. Nothing was published."
            )

    def _progress(self, values: dict[str, str]) -> None:
        out_us = values.get("out_time_us", "")
        frame = values.get("frame", "")
        speed = values.get("speed", "").rstrip("x")
        self.frames = int(frame) if frame.isdigit() else self.frames
        self.on_progress(
            EncodeProgress(
                out_time=int(out_us) / 1e6 if out_us.lstrip("-").isdigit() else 0.0,
                frame=self.frames,
                speed=_float_or_none(speed),
            )
        )


def _float_or_none(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
