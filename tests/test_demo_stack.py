"""The embedded demo stack, end to end: real ffmpeg seed, real moto server process, boto3.

One stack (and one seed build) is shared by the whole module through a session-scoped data
dir; tests that stop or restart it leave a running stack behind for the next one, and the
reset test runs last. The server is always stopped at teardown.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from console.demo import seed as seedmod
from console.demo import state
from console.demo.stack import (
    DemoEndpoint,
    DemoStackError,
    ensure_demo_stack,
    release_demo_stack,
    reset_demo_stack,
    running_demo_stack,
    stack_info,
    stop_demo_stack,
)

ROOT = Path(__file__).resolve().parent.parent
FULL_CLIP_GAME = "nfl-2026-w11-kc-buf"


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def demo_data_dir(tmp_path_factory: pytest.TempPathFactory):
    """A data dir with a started stack (the seed is built once, here); stopped at the end."""
    data_dir = tmp_path_factory.mktemp("demo-data")
    t0 = time.monotonic()
    try:
        ensure_demo_stack(data_dir, timeout=120)
        print(f"\ndemo stack cold start (seed build included): {time.monotonic() - t0:.1f} s")
        yield data_dir
    finally:
        stop_demo_stack(data_dir)
        release_demo_stack(data_dir)


@pytest.fixture
def endpoint(demo_data_dir: Path) -> DemoEndpoint:
    return ensure_demo_stack(demo_data_dir)


def s3_client(endpoint: DemoEndpoint):
    return boto3.client(
        "s3",
        endpoint_url=endpoint.endpoint_url,
        region_name=endpoint.region,
        aws_access_key_id=endpoint.access_key,
        aws_secret_access_key=endpoint.secret_key,
        config=Config(s3={"addressing_style": "path"}, proxies={}),
    )


@pytest.fixture
def s3(endpoint: DemoEndpoint):
    return s3_client(endpoint)


def list_keys(s3, bucket: str, prefix: str) -> set[str]:
    keys: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.update(obj["Key"] for obj in page.get("Contents", []))
    return keys


def game_ids(s3, bucket: str) -> list[str]:
    ids: list[str] = []
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix="games/", Delimiter="/"
    )
    for page in pages:
        ids += [p["Prefix"].split("/")[1] for p in page.get("CommonPrefixes", [])]
    return ids


def read_text(s3, bucket: str, key: str) -> str:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")


def download_prefix(s3, bucket: str, prefix: str, dest: Path) -> Path:
    for key in list_keys(s3, bucket, prefix):
        path = dest / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return dest / prefix


def ffmpeg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [seedmod.pinned_ffmpeg(), "-hide_banner", "-nostdin", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def streamhash(*input_args: str) -> str:
    out = ffmpeg("-v", "error", *input_args, "-map", "0:v", "-c", "copy", "-f", "streamhash", "-")
    assert out.returncode == 0, out.stderr
    assert "SHA256=" in out.stdout
    return out.stdout.strip()


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def free_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def wait_dead(pid: int, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not state.pid_alive(pid):
            return True
        time.sleep(0.1)
    return False


# -- a service for the seam test (imported by the server process) ---------------------------


class _EchoService:
    state_key = "ssai_url"

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.httpd: http.server.ThreadingHTTPServer | None = None

    def start(self) -> str:
        bucket = self.ctx.bucket

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                body = json.dumps({"service": "echo", "bucket": bucket}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()


def make_echo_service(ctx) -> _EchoService:
    """Factory named in VIDEO_OPS_DEMO_SERVICES by test_idle_exit_and_service_seam."""
    return _EchoService(ctx)


# -- the seed --------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_seed_cache_is_complete_and_fast(demo_data_dir: Path) -> None:
    seed = seedmod.load_seed(demo_data_dir, verify_hashes=True)
    assert seed is not None, "the seed cache is incomplete"
    assert seed.root == demo_data_dir.resolve() / "demo" / f"seed-v{seedmod.SEED_VERSION}"
    manifest = json.loads((seed.root / "manifest.json").read_text())
    assert manifest["seed_version"] == seedmod.SEED_VERSION
    assert manifest["ffmpeg_version"].startswith("ffmpeg version")
    assert {row["key"] for row in manifest["objects"]} == {o.key for o in seed.objects}
    assert all(len(o.sha256) == 64 and o.size > 0 for o in seed.objects)
    assert seed.build_seconds < 60, f"seeding took {seed.build_seconds:.1f} s"
    print(f"\nseed v{seed.version}: {len(seed.objects)} objects in {seed.build_seconds:.1f} s")


@pytest.mark.timeout(120)
def test_catalog_has_v1_partial_and_broken_games(endpoint: DemoEndpoint, s3) -> None:
    bucket = endpoint.bucket
    ids = game_ids(s3, bucket)
    kinds: dict[str, str] = {}
    leagues_of_v1: set[str] = set()
    for gid in ids:
        prefix = f"games/{gid}/"
        keys = list_keys(s3, bucket, prefix)
        meta = json.loads(read_text(s3, bucket, prefix + "meta.json"))
        assert set(meta) == {"title", "league", "date", "home", "away"}
        assert all(isinstance(v, str) and v for v in meta.values())
        master = read_text(s3, bucket, prefix + "master.m3u8")
        assert "#EXT-X-STREAM-INF" not in master  # still the v1 media playlist
        assert prefix + "master.v1.m3u8" not in keys
        assert prefix + "abr/renditions.json" not in keys
        referenced = [prefix + uri for uri in seedmod.playlist_uris(master)]
        missing = [k for k in referenced if k not in keys]
        rung_keys = {k for k in keys if k.startswith(prefix + "abr/")}
        if missing:
            kinds[gid] = "broken"
            assert missing == [prefix + "seg_00002.m4s"]
            with pytest.raises(ClientError) as err:
                s3.head_object(Bucket=bucket, Key=missing[0])
            assert err.value.response["Error"]["Code"] in ("404", "NoSuchKey")
        elif rung_keys:
            kinds[gid] = "partial"
            rung = prefix + "abr/360p/"
            index = read_text(s3, bucket, rung + "index.m3u8")
            assert '#EXT-X-MAP:URI="init.mp4"' in index
            rung_refs = {rung + uri for uri in seedmod.playlist_uris(index)}
            assert rung_refs <= rung_keys
            assert rung_keys == rung_refs | {rung + "index.m3u8"}
            assert len(rung_refs) >= 4
        else:
            kinds[gid] = "v1"
            assert keys == set(referenced) | {prefix + "master.m3u8", prefix + "meta.json"}
            leagues_of_v1.add(meta["league"])
    assert sum(k == "v1" for k in kinds.values()) >= 6, kinds
    assert len(leagues_of_v1) >= 2
    assert list(kinds.values()).count("partial") == 1, kinds
    assert list(kinds.values()).count("broken") == 1, kinds


@pytest.mark.timeout(120)
def test_partial_rung_is_a_real_360p_encode(endpoint: DemoEndpoint, s3, tmp_path: Path) -> None:
    (game,) = [g for g in seedmod.DEMO_GAMES if g.kind == "partial"]
    rung = download_prefix(s3, endpoint.bucket, f"games/{game.id}/abr/360p/", tmp_path)
    probe = ffmpeg("-i", str(rung / "index.m3u8"))
    assert "Video: h264" in probe.stderr and "640x360" in probe.stderr, probe.stderr
    assert "Audio: aac" in probe.stderr and "stereo" in probe.stderr
    # Closed GOPs every 4 s: each segment but the last lasts exactly 4 s.
    durations = [
        float(line.split(":")[1].rstrip(","))
        for line in (rung / "index.m3u8").read_text().splitlines()
        if line.startswith("#EXTINF:")
    ]
    assert all(abs(d - 4.0) < 1e-3 for d in durations[:-1]), durations
    decoded = ffmpeg("-v", "error", "-i", str(rung / "index.m3u8"), "-f", "null", "-")
    assert decoded.returncode == 0 and not decoded.stderr.strip(), decoded.stderr


@pytest.mark.timeout(60)
def test_master_is_a_vod_fmp4_media_playlist(endpoint: DemoEndpoint, s3) -> None:
    for game in seedmod.DEMO_GAMES:
        text = read_text(s3, endpoint.bucket, f"games/{game.id}/master.m3u8")
        lines = text.splitlines()
        assert lines[0] == "#EXTM3U"
        assert '#EXT-X-MAP:URI="init.mp4"' in lines
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in lines
        assert lines[-1] == "#EXT-X-ENDLIST"
        assert not any(line.startswith("#EXT-X-STREAM-INF") for line in lines)
        segments = [ln for ln in lines if ln and not ln.startswith("#")]
        assert segments == [f"seg_{i:05d}.m4s" for i in range(len(segments))]
        assert sum(ln.startswith("#EXTINF:") for ln in lines) == len(segments)
        total = sum(float(ln[8:].rstrip(",")) for ln in lines if ln.startswith("#EXTINF:"))
        assert total == pytest.approx(game.duration, abs=0.05)
        assert game.duration >= 20


@pytest.mark.timeout(180)
def test_v1_video_is_a_bit_exact_remux(endpoint: DemoEndpoint, s3, tmp_path: Path) -> None:
    clip = str(seedmod.clip_path())
    game_dir = download_prefix(s3, endpoint.bucket, f"games/{FULL_CLIP_GAME}/", tmp_path)
    # The full-clip game carries every video packet of the source, unchanged.
    assert streamhash("-i", str(game_dir / "master.m3u8")) == streamhash("-i", clip)
    probe = ffmpeg("-i", str(game_dir / "master.m3u8"))
    assert "Audio: aac" in probe.stderr and "stereo" in probe.stderr
    assert "1280x720" in probe.stderr
    # A windowed game carries exactly the source's packets of its window.
    (windowed,) = [g for g in seedmod.DEMO_GAMES if g.id == "nba-2026-11-18-bos-lal"]
    game_dir = download_prefix(s3, endpoint.bucket, windowed.prefix, tmp_path)
    assert streamhash("-i", str(game_dir / "master.m3u8")) == streamhash(
        *seedmod.window_args(windowed), "-i", clip
    )
    frames = ffmpeg(
        "-v",
        "error",
        "-i",
        str(game_dir / "master.m3u8"),
        "-map",
        "0:v",
        "-c",
        "copy",
        "-f",
        "framemd5",
        "-",
    )
    packets = [ln for ln in frames.stdout.splitlines() if ln and not ln.startswith("#")]
    assert len(packets) == windowed.frames


# -- joining, leases, persistence ------------------------------------------------------------


@pytest.mark.timeout(60)
def test_second_ensure_joins_the_same_server(demo_data_dir: Path) -> None:
    first = ensure_demo_stack(demo_data_dir)
    info = stack_info(demo_data_dir)
    assert info is not None
    t0 = time.monotonic()
    second = ensure_demo_stack(demo_data_dir)
    joined_in = time.monotonic() - t0
    assert second == first
    assert stack_info(demo_data_dir).pid == info.pid
    assert joined_in < 0.5, f"joining took {joined_in:.3f} s"
    doc = json.loads((demo_data_dir / "demo" / "stack.json").read_text())
    assert {"pid", "endpoint_url", "bucket", "region", "seed_version", "started_at"} <= set(doc)
    assert doc["endpoint_url"].startswith("http://127.0.0.1:")
    assert (doc["bucket"], doc["region"]) == ("griddy-video", "auto")
    assert (demo_data_dir / "demo" / "clients" / str(os.getpid())).exists()
    release_demo_stack(demo_data_dir)
    assert not (demo_data_dir / "demo" / "clients" / str(os.getpid())).exists()


@pytest.mark.timeout(60)
def test_default_data_dir_comes_from_the_environment(
    demo_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = ensure_demo_stack(demo_data_dir)
    monkeypatch.setenv("VIDEO_OPS_DATA_DIR", str(demo_data_dir))
    assert ensure_demo_stack() == expected


@pytest.mark.timeout(120)
def test_concurrent_starts_share_one_server(demo_data_dir: Path) -> None:
    assert stop_demo_stack(demo_data_dir) is True
    code = textwrap.dedent(
        f"""
        import json, sys
        from console.demo.stack import ensure_demo_stack, stack_info
        ep = ensure_demo_stack({str(demo_data_dir)!r})
        print(json.dumps({{"url": ep.endpoint_url, "pid": stack_info({str(demo_data_dir)!r}).pid}}))
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    results = [json.loads(p.communicate(timeout=100)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len({(r["url"], r["pid"]) for r in results}) == 1, results
    # The clients have exited; our own lease keeps the server alive.
    assert ensure_demo_stack(demo_data_dir).endpoint_url == results[0]["url"]


@pytest.mark.timeout(120)
def test_written_object_survives_a_restart(demo_data_dir: Path) -> None:
    endpoint = ensure_demo_stack(demo_data_dir)
    old_pid = stack_info(demo_data_dir).pid
    body = os.urandom(300_000)
    s3_client(endpoint).put_object(
        Bucket=endpoint.bucket,
        Key="games/test-persist/blob.bin",
        Body=body,
        ContentType="application/x-test",
        Metadata={"origin": "pytest"},
    )
    assert stop_demo_stack(demo_data_dir) is True
    assert not state.pid_alive(old_pid)
    assert not (demo_data_dir / "demo" / "stack.json").exists()
    endpoint = ensure_demo_stack(demo_data_dir)
    info = stack_info(demo_data_dir)
    assert info.pid != old_pid and info.restored_from == "snapshot"
    got = s3_client(endpoint).get_object(Bucket=endpoint.bucket, Key="games/test-persist/blob.bin")
    assert got["Body"].read() == body
    assert got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"origin": "pytest"}
    index = json.loads((demo_data_dir / "demo" / "bucket" / "index.json").read_text())
    assert "games/test-persist/blob.bin" in index["objects"]
    # The seed objects are still there too.
    assert len(game_ids(s3_client(endpoint), endpoint.bucket)) == len(seedmod.DEMO_GAMES) + 1


@pytest.mark.timeout(120)
def test_stale_state_file_is_replaced(demo_data_dir: Path) -> None:
    stop_demo_stack(demo_data_dir)
    state_path = demo_data_dir / "demo" / "stack.json"
    stale_pid = dead_pid()
    stale = {"pid": stale_pid, "endpoint_url": free_port_url(), "bucket": "griddy-video"}
    state_path.write_text(json.dumps(stale))
    endpoint = ensure_demo_stack(demo_data_dir)
    doc = json.loads(state_path.read_text())
    assert doc["pid"] != stale_pid and doc["endpoint_url"] == endpoint.endpoint_url
    assert state.endpoint_answers(endpoint.endpoint_url, endpoint.bucket)


@pytest.mark.timeout(120)
def test_state_file_naming_a_foreign_live_process_is_replaced(demo_data_dir: Path) -> None:
    stop_demo_stack(demo_data_dir)
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        stale = {"pid": bystander.pid, "endpoint_url": free_port_url(), "bucket": "griddy-video"}
        (demo_data_dir / "demo" / "stack.json").write_text(json.dumps(stale))
        endpoint = ensure_demo_stack(demo_data_dir)
        assert stack_info(demo_data_dir).pid != bystander.pid
        assert state.endpoint_answers(endpoint.endpoint_url, endpoint.bucket)
        assert bystander.poll() is None, "a process that is not our server was signalled"
    finally:
        bystander.kill()
        bystander.wait()


@pytest.mark.timeout(120)
def test_another_process_stops_a_stack_this_process_started(demo_data_dir: Path) -> None:
    stop_demo_stack(demo_data_dir)
    endpoint = ensure_demo_stack(demo_data_dir)  # this process is the server's parent
    pid = stack_info(demo_data_dir).pid
    assert running_demo_stack(demo_data_dir) == endpoint
    code = (
        "from console.demo.stack import stop_demo_stack; "
        f"print(stop_demo_stack({str(demo_data_dir)!r}))"
    )
    t0 = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "True", out.stderr
    assert time.monotonic() - t0 < 10, "the stopped server looked alive (an unreaped zombie?)"
    assert not state.pid_alive(pid)
    assert running_demo_stack(demo_data_dir) is None
    assert stop_demo_stack(demo_data_dir) is False
    ensure_demo_stack(demo_data_dir)


@pytest.mark.timeout(60)
def test_start_failure_reports_the_server_log(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "server.lock").mkdir()  # the server cannot open its lock file
    with pytest.raises(DemoStackError) as err:
        ensure_demo_stack(tmp_path, timeout=30)
    message = str(err.value)
    assert "exited during start-up" in message
    assert "server.log" in message and "IsADirectoryError" in message
    assert not (tmp_path / "demo" / "clients" / str(os.getpid())).exists()


@pytest.mark.timeout(120)
def test_idle_exit_and_service_seam(demo_data_dir: Path, tmp_path: Path) -> None:
    # A second data dir sharing the built seed (hard links) so no rebuild is needed.
    data_dir = tmp_path / "data"
    seed_root = seedmod.seed_dir(demo_data_dir)
    shutil.copytree(seed_root, seedmod.seed_dir(data_dir), copy_function=os.link)
    code = textwrap.dedent(
        f"""
        import json, urllib.request
        from console.demo.stack import ensure_demo_stack, stack_info
        ep = ensure_demo_stack({str(data_dir)!r})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({{}}))
        echo = json.loads(opener.open(ep.ssai_url, timeout=5).read())
        info = stack_info({str(data_dir)!r})
        print(json.dumps({{"pid": info.pid, "ssai_url": ep.ssai_url, "echo": echo}}))
        """
    )
    env = dict(os.environ)
    env[state.IDLE_ENV] = "1"
    env["VIDEO_OPS_DEMO_SERVICES"] = "tests.test_demo_stack:make_echo_service"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["ssai_url"].startswith("http://127.0.0.1:")
    assert result["echo"] == {"service": "echo", "bucket": "griddy-video"}
    # The only client has exited: the server notices within a poll or two and leaves.
    assert wait_dead(result["pid"], timeout=20), "the server did not exit when idle"
    assert not (data_dir / "demo" / "stack.json").exists()
    assert list((data_dir / "demo" / "clients").iterdir()) == []
    log = (data_dir / "demo" / "server.log").read_text()
    assert "no live client" in log and "stopped" in log


# -- reset (last: it rebuilds the seed) ------------------------------------------------------


@pytest.mark.timeout(180)
def test_reset_reseeds_and_drops_written_objects(demo_data_dir: Path) -> None:
    endpoint = ensure_demo_stack(demo_data_dir)
    s3 = s3_client(endpoint)
    s3.put_object(Bucket=endpoint.bucket, Key="games/test-reset/x.txt", Body=b"gone soon")
    old_seed = seedmod.load_seed(demo_data_dir)
    wall0 = time.time()
    t0 = time.monotonic()
    endpoint = reset_demo_stack(demo_data_dir)
    print(f"\nreset (seed rebuild included): {time.monotonic() - t0:.1f} s")
    s3 = s3_client(endpoint)
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=endpoint.bucket, Key="games/test-reset/x.txt")
    assert err.value.response["Error"]["Code"] == "NoSuchKey"
    assert sorted(game_ids(s3, endpoint.bucket)) == sorted(g.id for g in seedmod.DEMO_GAMES)
    assert stack_info(demo_data_dir).restored_from == f"seed-v{seedmod.SEED_VERSION}"
    new_seed = seedmod.load_seed(demo_data_dir)
    assert new_seed is not None
    assert (new_seed.root / "manifest.json").stat().st_mtime >= wall0 - 1  # rebuilt
    assert {o.key for o in new_seed.objects} == {o.key for o in old_seed.objects}
