"""Shared fixtures: isolated user dirs, an in-memory keyring, a real moto S3 server over
HTTP, packaged HLS of the demo clip, and the ../shared test inputs (skipped when absent)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("VIDEO_OPS_AUDIO", "null")
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="voc-tests-"))
os.environ["VIDEO_OPS_DATA_DIR"] = str(_SESSION_DIR / "data")
os.environ["VIDEO_OPS_CONFIG_DIR"] = str(_SESSION_DIR / "config")
os.environ["VIDEO_OPS_CUE_MEDIA_DIR"] = str(_SESSION_DIR / "cue-media")  # one build per run

import boto3  # noqa: E402
import httpx  # noqa: E402
import keyring  # noqa: E402
import pytest  # noqa: E402
from keyring.backend import KeyringBackend  # noqa: E402

from services.storage import StorageConfig  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent
SHARED = PROJECT.parent / "shared"
DEMO_CLIP = PROJECT / "resources" / "demo" / "bbb_trailer.mp4"


class MemoryKeyring(KeyringBackend):
    """An in-memory OS-keyring stand-in for tests (never written to disk)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


keyring.set_keyring(MemoryKeyring())


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound, then released)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` (third-party test media and playlists); skips when absent."""
    if not (SHARED / "DATA.md").exists():
        pytest.skip(f"{SHARED} is absent: third-party test inputs are not available")
    return SHARED


@pytest.fixture(scope="session")
def moto_endpoint():
    """A real moto S3 server on 127.0.0.1 (random port) for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def storage_config(moto_endpoint) -> StorageConfig:
    """A fresh, empty bucket (region "auto", as R2) on the session's moto server."""
    config = StorageConfig(moto_endpoint, f"test-{uuid.uuid4().hex[:12]}", "test", "test-secret")
    s3_client(config).create_bucket(
        Bucket=config.bucket, CreateBucketConfiguration={"LocationConstraint": "auto"}
    )
    return config


def s3_client(config: StorageConfig):
    """A plain boto3 client on ``config`` for arranging test data."""
    return boto3.client(
        "s3",
        endpoint_url=config.endpoint_url,
        region_name=config.region,
        aws_access_key_id=config.access_key_id,
        aws_secret_access_key=config.secret_access_key,
    )


@pytest.fixture(scope="session")
def v1_hls_dir(tmp_path_factory) -> Path:
    """The demo clip remuxed once to v1 fMP4 HLS (video -c copy, AAC audio), pinned ffmpeg."""
    import imageio_ffmpeg

    out = tmp_path_factory.mktemp("v1hls")
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
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
            str(out / "master.m3u8"),
        ],
        check=True,
    )
    return out


def upload_game(
    config: StorageConfig,
    game_id: str,
    hls_dir: Path,
    *,
    meta: dict | None = None,
    skip: tuple[str, ...] = (),
) -> list[str]:
    """Upload a packaged HLS dir as ``games/{game_id}/...``; returns the keys written."""
    import json

    client = s3_client(config)
    keys = []
    for path in sorted(hls_dir.iterdir()):
        if path.name in skip:
            continue
        key = f"games/{game_id}/{path.name}"
        client.put_object(Bucket=config.bucket, Key=key, Body=path.read_bytes())
        keys.append(key)
    if meta is not None:
        key = f"games/{game_id}/meta.json"
        client.put_object(Bucket=config.bucket, Key=key, Body=json.dumps(meta).encode())
        keys.append(key)
    return keys


@pytest.fixture
def qloop(qapp):
    """A qasync loop driven by pytest-qt's event processing, removed after the test."""
    from tests.gui_support import install_loop, uninstall_loop

    loop = install_loop(qapp)
    yield loop
    uninstall_loop(loop)


@pytest.fixture
def start_assets(tmp_path):
    """Start seeded demo assets API servers on loopback: ``start_assets(token, **options)``
    (options of ``start_assets_api``, e.g. ``processing_after_s``); all stopped at teardown."""
    from console.demo.assets_api import start_assets_api

    servers = []

    def start(token: str, **options):
        options.setdefault("worker_tick_s", 0.1)
        server = start_assets_api(tmp_path / f"assets-{len(servers)}.sqlite3", token, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@contextlib.contextmanager
def moto_iam_auth(endpoint: str) -> Iterator[None]:
    """Switch the moto server to IAM authentication (its ``/moto-api/reset-auth``), so bad
    credentials get the real 403 answers S3 gives; restored to moto's default afterwards."""
    answer = httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"0")
    answer.raise_for_status()
    previous = answer.json()["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]
    try:
        yield
    finally:
        httpx.post(f"{endpoint}/moto-api/reset-auth", content=previous.encode()).raise_for_status()


@pytest.fixture
def start_cues():
    """Start demo cue services on loopback: ``start_cues(token, **options)`` (options of
    ``start_cue_service``, e.g. ``deplete_after_break=True``); all stopped at teardown. The
    channel media are packaged once per test session."""
    from console.demo.cues import start_cue_service

    servers = []

    def start(token: str, **options):
        server = start_cue_service(_SESSION_DIR / "cue-demo", token, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# One backfilled game shared by the compare and clip test modules (built once per session).
from tests.compare_support import compared_game_fixture  # noqa: E402, F401
