"""The ffmpeg options the demo stack packages its media with (the seeded games' v1 and
360p rung, the cue service's live content and ad pod), in one place so the two agree.

Rates are in kbit/s (ffmpeg's ``k`` suffix), GOPs in frames. The x264 rate control is
capped VBR: ``maxrate`` = 1.1 × the target, ``bufsize`` = 2 × the target; GOPs are closed
and forced by frame number (``expr:eq(mod(n,GOP),0)``, ``-sc_threshold 0``), so every
segment starts with an IDR on the same frame in every variant (docs/platform.md: forcing
by time can land one frame off).
"""

from __future__ import annotations

#: no banner, no stdin, errors only, overwrite
QUIET = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y"]


def x264_args(kbps: int, gop: int, *, profile: str = "main", level: str = "3.1") -> list[str]:
    """H.264 (libx264 veryfast, yuv420p) at ``kbps`` with a closed ``gop``-frame GOP."""
    return [
        *("-c:v", "libx264", "-preset", "veryfast", "-profile:v", profile, "-level:v", level),
        *("-pix_fmt", "yuv420p", "-b:v", f"{kbps}k", "-maxrate", f"{int(kbps * 1.1)}k"),
        *("-bufsize", f"{kbps * 2}k", "-g", str(gop), "-keyint_min", str(gop)),
        *("-sc_threshold", "0", "-force_key_frames", f"expr:eq(mod(n,{gop}),0)"),
    ]


def aac_args(kbps: int, *, sample_rate: int | None = None) -> list[str]:
    """AAC stereo at ``kbps`` (resampled to ``sample_rate`` Hz when given)."""
    args = ["-c:a", "aac", "-b:a", f"{kbps}k", "-ac", "2"]
    return args + (["-ar", str(sample_rate)] if sample_rate else [])


def hls_vod_args(segment_s: int, segments: str, playlist: str, *, fmp4: bool) -> list[str]:
    """A VOD HLS output of ``segment_s``-second segments named by the ``segments`` pattern;
    fMP4 with ``init.mp4`` when ``fmp4``, else MPEG-TS."""
    args = ["-f", "hls", "-hls_time", str(segment_s), "-hls_playlist_type", "vod"]
    if fmp4:
        args += ["-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4"]
    return [*args, "-hls_segment_filename", segments, playlist]
