"""Media fixtures for the player tests: the demo clip as fMP4 HLS over loopback HTTP.

Not a ``conftest.py`` (that one belongs to the shared test set-up): test modules import
these fixtures explicitly: ``from tests.conftest_media import hls_clip_fixture,
hls_server_fixture  # noqa: F401`` makes the ``hls_clip`` and ``hls_server`` fixtures available.

* ``hls_clip`` (session): ``resources/demo/bbb_trailer.mp4`` packaged once with the pinned
  ffmpeg (``imageio_ffmpeg``) into fMP4 HLS (``init.mp4``, ``seg_%05d.m4s``,
  ``index.m3u8``, video copied, AAC stereo audio), plus a one-variant ``master.m3u8``.
* ``hls_server`` (session): a ``ThreadingHTTPServer`` on 127.0.0.1 (random port) serving
  that directory and recording every requested path.
"""

from __future__ import annotations

import http.server
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from services.playback import PlaybackSource, media_source, multivariant_source

DEMO_CLIP = Path(__file__).resolve().parent.parent / "resources" / "demo" / "bbb_trailer.mp4"

MASTER_PLAYLIST = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=1300000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"
index.m3u8
"""


@dataclass(frozen=True)
class HlsClip:
    """The packaged clip: its directory, init segment name and ``(name, seconds)`` segments."""

    directory: Path
    init_name: str
    segments: tuple[tuple[str, float], ...]

    @property
    def duration(self) -> float:
        """Sum of the EXTINF durations (seconds)."""
        return sum(d for _, d in self.segments)

    def segment_starts(self) -> list[tuple[str, float, float]]:
        """``(name, start s, end s)`` of each segment on the playlist timeline."""
        out, t = [], 0.0
        for name, dur in self.segments:
            out.append((name, t, t + dur))
            t += dur
        return out


@dataclass
class HlsServer:
    """A loopback HTTP server for an :class:`HlsClip`; ``requests`` lists served paths."""

    base_url: str
    clip: HlsClip
    requests: list[str] = field(default_factory=list)

    def url(self, name: str) -> str:
        """Absolute URL of a file of the clip directory."""
        return f"{self.base_url}/{name}"

    def media(self, title: str = "BBB trailer (fMP4)") -> PlaybackSource:
        """The clip's media playlist as an EDL :class:`PlaybackSource`."""
        return media_source(
            title,
            self.url(self.clip.init_name),
            [(self.url(name), dur) for name, dur in self.clip.segments],
            playlist_url=self.url("index.m3u8"),
        )

    def multivariant(self, title: str = "BBB trailer (master)") -> PlaybackSource:
        """The one-variant ``master.m3u8`` as a multivariant :class:`PlaybackSource`."""
        return multivariant_source(title, self.url("master.m3u8"), self.clip.duration)

    def requested(self, name: str) -> bool:
        """``True`` if ``name`` was requested since the last :meth:`clear`."""
        return any(path.rsplit("/", 1)[-1] == name for path in list(self.requests))

    def clear(self) -> None:
        """Forget the recorded requests."""
        self.requests.clear()


def parse_media_playlist(text: str) -> tuple[str, tuple[tuple[str, float], ...]]:
    """``(init URI, ((segment URI, EXTINF seconds), ...))`` of a simple fMP4 media playlist."""
    init = ""
    segments: list[tuple[str, float]] = []
    duration: float | None = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-MAP:"):
            init = line.split('URI="', 1)[1].split('"', 1)[0]
        elif line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
        elif line and not line.startswith("#"):
            assert duration is not None, f"segment {line} without EXTINF"
            segments.append((line, duration))
            duration = None
    return init, tuple(segments)


@pytest.fixture(scope="session", name="hls_clip")
def hls_clip_fixture(tmp_path_factory: pytest.TempPathFactory) -> HlsClip:
    """The demo clip packaged as fMP4 HLS (4 s target, video copied) in a temp dir."""
    import imageio_ffmpeg

    if not DEMO_CLIP.exists():
        pytest.skip(f"demo clip missing: {DEMO_CLIP}")
    out = tmp_path_factory.mktemp("hls_fmp4")
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(DEMO_CLIP),
        "-map",
        "0:v:0",
        "-map",
        "0:a:0",
        "-c:v",
        "copy",
        "-c:a",
        "aac",
        "-ac",
        "2",
        "-f",
        "hls",
        "-hls_time",
        "4",
        "-hls_playlist_type",
        "vod",
        "-hls_segment_type",
        "fmp4",
        "-hls_fmp4_init_filename",
        "init.mp4",
        "-hls_segment_filename",
        str(out / "seg_%05d.m4s"),
        str(out / "index.m3u8"),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    init, segments = parse_media_playlist((out / "index.m3u8").read_text())
    (out / "master.m3u8").write_text(MASTER_PLAYLIST)
    return HlsClip(directory=out, init_name=init, segments=segments)


@pytest.fixture(scope="session", name="hls_server")
def hls_server_fixture(hls_clip: HlsClip) -> Iterator[HlsServer]:
    """Serve ``hls_clip`` on 127.0.0.1 (random port) from a background thread."""
    requests: list[str] = []
    directory = str(hls_clip.directory)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, directory=directory, **kwargs)

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            requests.append(self.path)
            super().do_GET()

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="hls-test-server", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield HlsServer(base_url=f"http://{host}:{port}", clip=hls_clip, requests=requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
