"""The quality measurement: one ffmpeg that decodes the reference once and measures every
rung against it.

The command reads the reference (the source, else the v1 playlist) and each rung playlist
through the playback gateway. The reference is decoded once and ``split`` to one metric
chain per rung; each rung is scaled to the reference size (bicubic, the usual VMAF setup)
and split three ways, to ``libvmaf`` (model vmaf_v0.6.1, ``n_threads``), ``psnr`` and
``ssim``. Both sides go through ``setpts=PTS-STARTPTS``: frames are paired on presentation
time from a common origin (docs/platform.md: frame-accurate comparison needs PTS alignment), so
a dropped frame does not shift every later pair. The rung is each filter's first ("main")
input: one value per rung frame, in presentation order. Per-frame values are written to
files in a private temporary folder (JSON for VMAF, ffmpeg's stats lines for PSNR/SSIM).

The same run, from the same reads and decodes (issue 17), also writes per input:

- motion: ``scdet`` (ffmpeg filter doc: it exports ``lavfi.scd.mafd``, the mean absolute
  difference to the previous frame) on the decoded frames, before any scaling, printed by
  ``metadata=mode=print``: what ``services.spotcheck.freezes`` compares;
- previous-frame PSNR: a fourth metric chain per rung, ``psnr`` against the reference
  delayed by one frame (``setpts=PTS+frame/TB``), so rung frame ``j`` meets reference frame
  ``j-1``: a rung frame that repeats its predecessor is nearer that frame than its own.
  framesync drops the rung's first frame (no delayed reference frame precedes it, measured
  on ffmpeg 7), so line ``i`` of that file is rung frame ``i+1``;
- packets: a ``-c copy`` output to ``framecrc`` of each rung's IDR packets (the
  ``filter_units=pass_types=5`` bitstream filter keeps only IDR slices, NAL type 5 of
  H.264, and drops every packet left empty) and its audio packets, and of the reference's
  audio packets: what ``structure.idr`` and the A/V drift read. ``-copyts`` keeps these
  timestamps as ffprobe reports them (the metric chains start at 0 through ``setpts``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from services.errors import MediaError
from services.media_tools.runner import run_tool
from services.spotcheck.rules import PSNR_CAP_DB

_SAFE_PATH = re.compile(r"^[A-Za-z0-9_./-]+$")
_PSNR = re.compile(r"psnr_avg:(\S+)")
_SSIM = re.compile(r"All:(\S+)")


@dataclass(frozen=True)
class RungMetricFiles:
    """Where the metric chain of one rung writes its per-frame values, its motion
    (``scdet`` lines) and its IDR and audio packets (``framecrc``)."""

    rung: str
    vmaf: Path
    psnr: Path
    ssim: Path
    motion: Path
    packets: Path
    previous: Path


@dataclass(frozen=True)
class ReferenceLogs:
    """Where the reference's motion goes, and its audio packets (``audio`` None: the
    reference has no audio, so no such output); ``frame_s`` its frame duration in seconds
    (the delay of the previous-frame PSNR chains)."""

    motion: Path
    audio: Path | None
    frame_s: float


@dataclass(frozen=True)
class RungFrameMetrics:
    """Per-frame values of one rung, in the rung's presentation order (equal lengths)."""

    psnr_db: tuple[float, ...]
    ssim: tuple[float, ...]
    vmaf: tuple[float, ...]


def metric_files(log_dir: Path, rungs: list[str]) -> list[RungMetricFiles]:
    """The per-rung files under ``log_dir`` (a folder whose path needs no filter escaping)."""
    if not _SAFE_PATH.match(str(log_dir)):
        raise MediaError(f"The metrics folder {log_dir} has characters ffmpeg filters escape.")
    return [
        RungMetricFiles(
            rung,
            log_dir / f"{i}.vmaf.json",
            log_dir / f"{i}.psnr.log",
            log_dir / f"{i}.ssim.log",
            log_dir / f"{i}.motion.log",
            log_dir / f"{i}.packets.crc",
            log_dir / f"{i}.previous.log",
        )
        for i, rung in enumerate(rungs)
    ]


def reference_logs(log_dir: Path, *, audio: bool, frame_s: float) -> ReferenceLogs:
    """The reference's files under ``log_dir`` (see ``metric_files``); ``audio``: whether the
    reference has an audio stream to log; ``frame_s``: its frame duration in seconds."""
    if not _SAFE_PATH.match(str(log_dir)):
        raise MediaError(f"The metrics folder {log_dir} has characters ffmpeg filters escape.")
    audio_log = log_dir / "ref.audio.crc" if audio else None
    return ReferenceLogs(log_dir / "ref.motion.log", audio_log, frame_s)


def _motion(path: Path) -> str:
    """The filters logging each frame's motion to ``path`` (passes the frames on)."""
    return f"scdet=threshold=100,metadata=mode=print:key=lavfi.scd.mafd:file={path},"


def metrics_command(
    exe: str,
    reference_url: str,
    rung_urls: list[str],
    files: list[RungMetricFiles],
    width: int,
    height: int,
    *,
    vmaf_threads: int = 2,
    reference: ReferenceLogs | None = None,
) -> list[str]:
    """The argv measuring ``rung_urls`` against ``reference_url`` scaled to ``width`` x
    ``height`` (pixels), writing ``files`` (same order) and, when given, the
    ``reference`` logs; ``-progress`` lines on stdout."""
    count = len(rung_urls)
    chains = "vpsf" if reference is not None else "vps"
    graph = [
        "[0:v:0]setpts=PTS-STARTPTS,"
        + (_motion(reference.motion) if reference else "")
        + "format=yuv420p,setsar=1,split="
        + str(len(chains) * count)
        + "".join(f"[ref{i}{m}]" for i in range(count) for m in chains)
    ]
    outputs: list[str] = []
    for i, out in enumerate(files):
        graph.append(
            f"[{i + 1}:v:0]setpts=PTS-STARTPTS,{_motion(out.motion) if reference else ''}"
            f"scale={width}:{height}:flags=bicubic,format=yuv420p,setsar=1,"
            f"split={len(chains)}" + "".join(f"[dis{i}{m}]" for m in chains)
        )
        graph.append(
            f"[dis{i}v][ref{i}v]libvmaf=log_fmt=json:log_path={out.vmaf}:"
            f"n_threads={vmaf_threads}[out{i}v]"
        )
        graph.append(f"[dis{i}p][ref{i}p]psnr=stats_file={out.psnr}[out{i}p]")
        graph.append(f"[dis{i}s][ref{i}s]ssim=stats_file={out.ssim}[out{i}s]")
        if reference is not None:
            graph.append(
                f"[ref{i}f]setpts=PTS+{reference.frame_s:.9f}/TB[late{i}];"
                f"[dis{i}f][late{i}]psnr=stats_file={out.previous}[out{i}f]"
            )
        for m in chains:
            outputs += ["-map", f"[out{i}{m}]", "-f", "null", "-"]
    if reference is not None:
        for i, out in enumerate(files):
            outputs += ["-map", f"{i + 1}:v:0", "-map", f"{i + 1}:a:0?", "-c", "copy"]
            outputs += ["-bsf:v", "filter_units=pass_types=5", "-f", "framecrc", str(out.packets)]
    if reference is not None and reference.audio is not None:
        outputs += ["-map", "0:a:0", "-c", "copy", "-f", "framecrc", str(reference.audio)]
    argv = [
        exe,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "warning",
        "-nostats",
        "-progress",
        "pipe:1",
        "-copyts",
    ]
    for url in (reference_url, *rung_urls):
        argv += ["-rw_timeout", "20000000", "-i", url]
    return argv + ["-filter_complex", ";".join(graph), *outputs]


def _finite_psnr(text: str) -> float:
    value = float(text)
    return PSNR_CAP_DB if not math.isfinite(value) else min(value, PSNR_CAP_DB)


def read_metric_files(files: RungMetricFiles) -> RungFrameMetrics:
    """Parse one rung's files. Raises ``MediaError`` when one is missing or unreadable."""
    try:
        frames = json.loads(files.vmaf.read_text(encoding="utf-8"))["frames"]
        vmaf = tuple(float(f["metrics"]["vmaf"]) for f in frames)
        psnr = tuple(
            _finite_psnr(m.group(1))
            for m in map(_PSNR.search, files.psnr.read_text().splitlines())
            if m
        )
        ssim = tuple(
            float(m.group(1)) for m in map(_SSIM.search, files.ssim.read_text().splitlines()) if m
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise MediaError(f"The metrics of {files.rung} are unreadable ({exc}).") from exc
    shortest = min(len(vmaf), len(psnr), len(ssim))
    return RungFrameMetrics(psnr[:shortest], ssim[:shortest], vmaf[:shortest])


def read_previous_psnr(files: RungMetricFiles, frames: int) -> tuple[float, ...]:
    """The previous-frame PSNR of each of the rung's ``frames`` frames, in rung order:
    value ``j`` is rung frame ``j`` against reference frame ``j-1`` (dB, capped), NaN for
    frame 0. Raises ``MediaError`` when the file is missing or unreadable."""
    try:
        lines = files.previous.read_text().splitlines()
        values = [_finite_psnr(m.group(1)) for m in map(_PSNR.search, lines) if m]
    except (OSError, ValueError) as exc:
        raise MediaError(f"The previous-frame PSNR of {files.rung} is unreadable ({exc}).") from exc
    aligned = (math.nan, *values[: max(frames - 1, 0)])
    return aligned + (math.nan,) * (frames - len(aligned))


@dataclass(frozen=True)
class MetricsRun:
    """A finished metrics command: ``frames`` it reported, ``warnings`` (gateway prefix
    removed), ``code`` its exit status."""

    code: int
    frames: int
    warnings: tuple[str, ...]


async def run_metrics(
    argv: list[str], *, hide: str, on_frames: Callable[[int], None]
) -> MetricsRun:
    """Run the metrics command; ``on_frames(n)`` after each ``-progress`` report (frames
    of the first rung's chain). Cancelling stops ffmpeg."""
    state = {"frames": 0}

    def on_progress(values: dict[str, str]) -> None:
        frame = values.get("frame", "")
        if frame.isdigit():
            state["frames"] = int(frame)
        on_frames(state["frames"])

    result = await run_tool(argv, hide=hide, on_progress=on_progress)
    return MetricsRun(result.code, state["frames"], result.warnings)
