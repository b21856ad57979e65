"""Where the media tools are: the pinned ffmpeg (imageio-ffmpeg) and the system ffprobe.

Every encode and measurement uses the one ffmpeg binary pinned by the ``imageio-ffmpeg``
wheel (FFmpeg 9.x: same figures for every operator, a reproducible ``ffmpeg_version`` in
the ledger, libvmaf). That wheel ships no ffprobe, so probing uses the system's (Debian
package ``ffmpeg``).
"""

from __future__ import annotations

import functools
import shutil

from services.errors import BadConfig
from services.media_tools.runner import ToolTimeout, run_sync

_VERSION_TIMEOUT_S = 30.0


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
    """The first line of ``ffmpeg -version`` of ``exe`` (default: the pinned binary), e.g.
    ``"ffmpeg version 7.1 Copyright (c) ..."``, as recorded in ledgers and the demo seed.
    Raises ``BadConfig`` when the binary is missing, does not start, fails or takes over
    30 s."""
    exe = exe or ffmpeg_exe()
    try:
        result = run_sync([exe, "-hide_banner", "-version"], timeout_s=_VERSION_TIMEOUT_S)
    except (OSError, ToolTimeout) as exc:
        raise BadConfig(f"Cannot run {exe}: {exc}") from exc
    lines = result.stdout.decode(errors="replace").splitlines()
    first = lines[0] if lines else ""
    if result.code != 0 or not first:
        said = "\n".join(result.warnings)
        raise BadConfig(f"{exe} -version failed: {said[:200]}")
    return first
