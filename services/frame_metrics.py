"""PSNR and SSIM of one pair of pictures (two PNG files of the same size), measured by
the pinned ffmpeg (``services.media_tools``): its ``psnr`` and ``ssim`` filters, the same figures
a spot-check job computes per frame. No Qt here; the compare controller writes the PNGs.

Identical pictures give ``psnr_db == math.inf`` (ffmpeg prints ``inf``) and ``ssim == 1.0``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from services.errors import MediaError
from services.media_tools.binaries import ffmpeg_exe
from services.media_tools.runner import ToolTimeout, run_tool

__all__ = ["FrameMetrics", "measure_frame_pair", "parse_metrics"]

_PSNR_RE = re.compile(r"PSNR .*?average:(\S+)")
_SSIM_RE = re.compile(r"SSIM .*?All:(\S+)")
_FILTER = "[0:v]split=2[r0][r1];[1:v]split=2[d0][d1];[d0][r0]psnr[p];[d1][r1]ssim[s]"
_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class FrameMetrics:
    """Full-reference quality of picture B against picture A.

    Attributes:
        psnr_db: PSNR in dB over all planes (``math.inf`` for identical pictures).
        ssim: SSIM "All" in [0, 1] (1.0 for identical pictures).
    """

    psnr_db: float
    ssim: float

    @property
    def label(self) -> str:
        """``"PSNR 38.21 dB · SSIM 0.9712"`` (``∞`` for identical pictures)."""
        psnr = "∞" if math.isinf(self.psnr_db) else f"{self.psnr_db:.2f}"
        return f"PSNR {psnr} dB · SSIM {self.ssim:.4f}"


def _number(text: str) -> float:
    return math.inf if text.lower() in ("inf", "+inf") else float(text)


def parse_metrics(stderr: str) -> FrameMetrics:
    """The figures from ffmpeg's ``psnr``/``ssim`` summary lines.

    Raises ``MediaError`` when either line is missing or unreadable.
    """
    psnr, ssim = _PSNR_RE.search(stderr), _SSIM_RE.search(stderr)
    if psnr is None or ssim is None:
        tail = stderr.strip().splitlines()[-1:] or ["no output"]
        raise MediaError(f"ffmpeg measured no PSNR/SSIM ({tail[0]}).")
    try:
        return FrameMetrics(psnr_db=_number(psnr.group(1)), ssim=float(ssim.group(1)))
    except ValueError as exc:
        raise MediaError(f"ffmpeg printed an unreadable figure: {exc}") from exc


async def measure_frame_pair(
    reference: Path, distorted: Path, *, ffmpeg: str | None = None
) -> FrameMetrics:
    """PSNR/SSIM of ``distorted`` against ``reference`` (two PNGs of the same size).

    ``ffmpeg`` defaults to the pinned binary; it runs through
    ``services.media_tools.runner`` (niced, stopped when cancelled). Raises ``MediaError``
    when ffmpeg fails (e.g. the sizes differ, a file is not a picture) or takes longer
    than 60 s, ``BadConfig`` when the pinned ffmpeg is unavailable.
    """
    argv = [
        ffmpeg or ffmpeg_exe(),
        "-hide_banner",
        "-nostats",
        "-i",
        str(reference),
        "-i",
        str(distorted),
        "-filter_complex",
        _FILTER,
        "-map",
        "[p]",
        "-map",
        "[s]",
        "-f",
        "null",
        "-",
    ]
    try:
        result = await run_tool(argv, keep_warnings=None, timeout_s=_TIMEOUT_S)
    except ToolTimeout as exc:
        raise MediaError("ffmpeg took too long to measure PSNR/SSIM.") from exc
    if result.code != 0:
        raise MediaError(f"ffmpeg could not compare the frames: {result.said('no output')}")
    return parse_metrics("\n".join(result.warnings))
