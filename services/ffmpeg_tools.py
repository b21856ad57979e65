"""Where the media tools are: the pinned ffmpeg (imageio-ffmpeg) and the system ffprobe.

Every encode uses the one ffmpeg binary pinned by the ``imageio-ffmpeg`` wheel (FFmpeg 9.x:
same figures for every operator, a reproducible ``ffmpeg_version`` in the ledger, libvmaf).
That wheel ships no ffprobe, so probing uses the system's (Debian package ``ffmpeg``).
"""

from __future__ import annotations

import functools
import shutil
import subprocess

from services.errors import BadConfig


@functools.cache
def ffmpeg_exe() -> str:
    """Absolute path of the pinned ffmpeg binary. Raises ``BadConfig`` when the
    ``imageio-ffmpeg`` wheel has no binary for this platform."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # RuntimeError when no binary ships for this platform
        raise BadConfig(f"The pinned ffmpeg (imageio-ffmpeg) is unavailable: {exc}") from exc


@functools.cache
def ffprobe_exe() -> str:
    """Absolute path of ``ffprobe`` on PATH. Raises ``BadConfig`` saying what to install."""
    path = shutil.which("ffprobe")
    if not path:
        raise BadConfig(
            "ffprobe is not installed: install the Debian package 'ffmpeg' "
            "(sudo apt-get install ffmpeg) and try again."
        )
    return path


@functools.cache
def ffmpeg_version(exe: str | None = None) -> str:
    """The first line of ``ffmpeg -version`` (recorded in ledgers). Raises ``BadConfig``."""
    exe = exe or ffmpeg_exe()
    try:
        out = subprocess.run(
            [exe, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BadConfig(f"Cannot run {exe}: {exc}") from exc
    first = out.stdout.splitlines()[0] if out.stdout else ""
    if out.returncode != 0 or not first:
        raise BadConfig(f"{exe} -version failed: {out.stderr.strip()[:200]}")
    return first
