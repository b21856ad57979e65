"""services.gateway: the loopback playback gateway, over real HTTP (httpx and ffmpeg) in front
of a real moto S3 server."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import imageio_ffmpeg
import pytest

from services.gateway import PlaybackGateway, content_type_for
from services.hls import MediaPlaylist, parse_playlist
from services.storage import StorageConfig
from tests.conftest import closed_port, s3_client, upload_game


@pytest.fixture
def gateway(storage_config: StorageConfig, v1_hls_dir: Path) -> Iterator[PlaybackGateway]:
    upload_game(storage_config, "g1", v1_hls_dir)
    gw = PlaybackGateway(storage_config)
    gw.start()
    yield gw
    gw.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


# --- serving objects -----------------------------------------------------------------------


def test_get_playlist_is_byte_for_byte_with_the_hls_type(
    gateway: PlaybackGateway, http: httpx.Client, v1_hls_dir: Path
) -> None:
    answer = http.get(gateway.url_for("games/g1/master.m3u8"))
    assert answer.status_code == 200
    assert answer.content == (v1_hls_dir / "master.m3u8").read_bytes()
    assert answer.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert answer.headers["accept-ranges"] == "bytes"
    assert answer.headers["cache-control"] == "no-store"
    assert int(answer.headers["content-length"]) == len(answer.content)


@pytest.mark.parametrize(
    ("name", "ctype"), [("init.mp4", "video/mp4"), ("seg_00007.m4s", "video/iso.segment")]
)
def test_get_media_objects(
    gateway: PlaybackGateway, http: httpx.Client, v1_hls_dir: Path, name: str, ctype: str
) -> None:
    answer = http.get(gateway.url_for(f"games/g1/{name}"))
    assert answer.status_code == 200
    assert answer.content == (v1_hls_dir / name).read_bytes()
    assert answer.headers["content-type"] == ctype
    assert answer.headers["etag"].strip('"')


def test_range_request_is_passed_through(
    gateway: PlaybackGateway, http: httpx.Client, v1_hls_dir: Path
) -> None:
    data = (v1_hls_dir / "seg_00000.m4s").read_bytes()
    answer = http.get(gateway.url_for("games/g1/seg_00000.m4s"), headers={"Range": "bytes=10-99"})
    assert answer.status_code == 206
    assert len(answer.content) == 90
    assert answer.content == data[10:100]
    assert answer.headers["content-range"] == f"bytes 10-99/{len(data)}"
    assert answer.headers["content-length"] == "90"


def test_open_ended_range(gateway: PlaybackGateway, http: httpx.Client, v1_hls_dir: Path) -> None:
    data = (v1_hls_dir / "init.mp4").read_bytes()
    answer = http.get(gateway.url_for("games/g1/init.mp4"), headers={"Range": "bytes=100-"})
    assert answer.status_code == 206
    assert answer.content == data[100:]


def test_head_gives_the_length_without_a_body(
    gateway: PlaybackGateway, http: httpx.Client, v1_hls_dir: Path
) -> None:
    size = (v1_hls_dir / "seg_00003.m4s").stat().st_size
    answer = http.head(gateway.url_for("games/g1/seg_00003.m4s"))
    assert answer.status_code == 200
    assert int(answer.headers["content-length"]) == size
    assert answer.content == b""
    # the connection is still usable after a HEAD (no stray body on the wire)
    again = http.get(gateway.url_for("games/g1/master.m3u8"))
    assert again.status_code == 200
    assert again.content.startswith(b"#EXTM3U")


def test_keys_with_spaces_and_unicode_round_trip(
    gateway: PlaybackGateway, http: httpx.Client, storage_config: StorageConfig
) -> None:
    key = "games/g 2/Ünïcode clip.m3u8"
    s3_client(storage_config).put_object(Bucket=storage_config.bucket, Key=key, Body=b"#EXTM3U\n")
    url = gateway.url_for(key)
    assert " " not in url
    assert gateway.key_for(url) == key
    answer = http.get(url)
    assert answer.status_code == 200
    assert answer.content == b"#EXTM3U\n"


def test_key_for_foreign_urls(gateway: PlaybackGateway) -> None:
    assert gateway.key_for("http://example.com/games/g1/master.m3u8") is None
    assert gateway.key_for(gateway.url_for("games/g1/init.mp4")) == "games/g1/init.mp4"


@pytest.mark.parametrize(
    ("key", "ctype"),
    [
        ("a/b.m3u8", "application/vnd.apple.mpegurl"),
        ("a/b.ts", "video/mp2t"),
        ("a/renditions.json", "application/json"),
        ("a/poster.png", "image/png"),
        ("a/blob", "application/octet-stream"),
    ],
)
def test_content_type_for(key: str, ctype: str) -> None:
    assert content_type_for(key) == ctype


# --- the token and the loopback binding -----------------------------------------------------


def test_wrong_token_is_forbidden_and_leaks_nothing(
    gateway: PlaybackGateway, http: httpx.Client, v1_hls_dir: Path
) -> None:
    right = gateway.url_for("games/g1/master.m3u8")
    wrong = right.replace(gateway.token, "x" * len(gateway.token))
    answer = http.get(wrong)
    assert answer.status_code == 403
    stored = (v1_hls_dir / "master.m3u8").read_bytes()
    assert b"#EXTM3U" not in answer.content
    assert stored not in answer.content
    assert "token" in answer.text
    assert answer.headers["content-type"].startswith("text/plain")


def test_segment_with_wrong_token_is_forbidden(
    gateway: PlaybackGateway, http: httpx.Client, v1_hls_dir: Path
) -> None:
    url = gateway.url_for("games/g1/init.mp4")
    wrong = url.replace(gateway.token, gateway.token[:-1])
    answer = http.get(wrong)
    assert answer.status_code == 403
    assert (v1_hls_dir / "init.mp4").read_bytes()[:64] not in answer.content
    head = http.head(wrong)
    assert head.status_code == 403 and head.content == b""


@pytest.mark.parametrize(
    "path",
    ["/", "/o/games/g1/master.m3u8", "/games/g1/master.m3u8", "//o/games/g1/master.m3u8"],
)
def test_paths_without_the_token_are_forbidden(
    gateway: PlaybackGateway, http: httpx.Client, path: str
) -> None:
    parts = urlsplit(gateway.base_url)
    answer = http.get(f"{parts.scheme}://{parts.netloc}{path}")
    assert answer.status_code == 403
    assert b"#EXTM3U" not in answer.content


def test_token_without_the_object_route_is_forbidden(
    gateway: PlaybackGateway, http: httpx.Client
) -> None:
    parts = urlsplit(gateway.base_url)
    root = f"{parts.scheme}://{parts.netloc}/{gateway.token}"
    assert http.get(f"{root}/x/games/g1/master.m3u8").status_code == 403
    assert http.get(f"{root}/o/").status_code == 403


def test_missing_key_is_404(gateway: PlaybackGateway, http: httpx.Client) -> None:
    answer = http.get(gateway.url_for("games/g1/seg_99999.m4s"))
    assert answer.status_code == 404
    assert "games/g1/seg_99999.m4s" in answer.text


def test_unsatisfiable_range_is_416(
    gateway: PlaybackGateway, http: httpx.Client, v1_hls_dir: Path
) -> None:
    size = (v1_hls_dir / "init.mp4").stat().st_size
    answer = http.get(
        gateway.url_for("games/g1/init.mp4"), headers={"Range": f"bytes={size + 10}-"}
    )
    assert answer.status_code == 416


def test_bound_to_loopback_with_a_per_session_token(
    gateway: PlaybackGateway, storage_config: StorageConfig
) -> None:
    parts = urlsplit(gateway.base_url)
    assert parts.hostname == "127.0.0.1"
    assert parts.port and parts.port > 0
    assert parts.path == f"/{gateway.token}/o/"
    assert len(gateway.token) >= 43  # 32 random bytes, url-safe base64
    other = PlaybackGateway(storage_config)
    assert other.token != gateway.token
    assert gateway.start() == gateway.base_url  # idempotent


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10"])
def test_refuses_to_listen_beyond_loopback(storage_config: StorageConfig, host: str) -> None:
    with pytest.raises(ValueError):
        PlaybackGateway(storage_config, host=host)


def test_base_url_before_start_raises(storage_config: StorageConfig) -> None:
    with pytest.raises(RuntimeError):
        PlaybackGateway(storage_config).base_url  # noqa: B018


# --- playback through the gateway --------------------------------------------------------


def test_relative_segment_uris_resolve_under_the_gateway(
    gateway: PlaybackGateway, http: httpx.Client, v1_hls_dir: Path
) -> None:
    master_url = gateway.url_for("games/g1/master.m3u8")
    playlist = parse_playlist(http.get(master_url).content)
    assert isinstance(playlist, MediaPlaylist)
    first = urljoin(master_url, playlist.segments[0].uri)
    assert first.startswith(gateway.base_url)
    answer = http.get(first)
    assert answer.status_code == 200
    assert answer.content == (v1_hls_dir / "seg_00000.m4s").read_bytes()
    init = http.get(urljoin(master_url, playlist.init_uri or ""))
    assert init.content == (v1_hls_dir / "init.mp4").read_bytes()


def test_ffmpeg_reads_the_whole_v1_rendition(gateway: PlaybackGateway) -> None:
    before = gateway.requests_served
    done = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-nostdin",
            "-v",
            "error",
            "-i",
            gateway.url_for("games/g1/master.m3u8"),
            "-map",
            "0:v",
            "-c",
            "copy",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    # the playlist, the init section and all 11 segments came through the gateway
    assert gateway.requests_served - before >= 13


# --- failures ---------------------------------------------------------------------------------


def test_unreachable_store_is_502_with_a_readable_body(http: httpx.Client) -> None:
    config = StorageConfig(f"http://127.0.0.1:{closed_port()}", "griddy-video", "k", "s")
    gw = PlaybackGateway(config)
    gw.start()
    try:
        answer = http.get(gw.url_for("games/g1/master.m3u8"))
    finally:
        gw.stop()
    assert answer.status_code == 502
    assert answer.text.startswith("store unreachable")
    assert "Check the endpoint" in answer.text
    assert gw.token not in answer.text


def test_stop_closes_the_port(storage_config: StorageConfig) -> None:
    gw = PlaybackGateway(storage_config)
    gw.start()
    parts = urlsplit(gw.base_url)
    assert httpx.get(gw.url_for("games/none"), timeout=10).status_code == 404
    gw.stop()
    with pytest.raises(OSError):
        socket.create_connection((parts.hostname, parts.port), timeout=2).close()
    with pytest.raises(RuntimeError):
        gw.base_url  # noqa: B018
    gw.stop()  # idempotent
