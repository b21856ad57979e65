"""Store faults (issue 13): the real moto server behind a fault-injecting proxy
(``tests/fault_proxy.py``), each component under each fault kind.

Clients get botocore's retries with a 1 s read timeout (``StorageConfig`` fields, or
``VIDEO_OPS_S3_READ_TIMEOUT`` for the real window), so a stall of ``STALL_S`` outlasts it.
A fault before the store's answer starts, or anywhere in an answer botocore reads inside
its call (a listing, a HEAD, a PUT), is retried and changes nothing; a fault while a GET
body streams is not retried by botocore and must come back as one clear sentence naming
the key (detail), a failed read for the player (gateway), or "could not read" (hashing).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.abr.ledger import LedgerObject, PackagedRendition
from services.catalog import CatalogService, GameState
from services.errors import ServiceError, Unreachable
from services.gateway import PlaybackGateway
from services.spotcheck.hashing import StoreHasher
from services.spotcheck.integrity import check_objects
from services.storage import Storage, StorageConfig
from tests.conftest import s3_client, upload_game
from tests.fault_proxy import (
    Fault,
    FaultProxy,
    cut,
    reset,
    server_error,
    short_upload,
    slow_down,
    stall,
)

pytestmark = pytest.mark.timeout(150)

READ_TIMEOUT_S = 1.0
STALL_S = 4.0
"""A stall outlasting the test clients' read timeout (``READ_TIMEOUT_S``)."""

#: faults before the store's answer starts: botocore retries them for every request
BEFORE_BODY: dict[str, Fault] = {
    "500": server_error(500),
    "503-unavailable": server_error(503),
    "503-slowdown": slow_down(),
    "reset-before-headers": reset(None),
    "stall-before-headers": stall(STALL_S),
}
#: faults in the middle of the answer's body
IN_BODY: dict[str, Fault] = {
    "reset-mid-body": reset(0.5),
    "cut-short": cut(0.5),
    "stall-mid-body": stall(STALL_S, 0.5),
}
EVERY_FAULT = {**BEFORE_BODY, **IN_BODY}

PAGE = r"prefix=games%2F(&|$)"
"""The catalog's listing pages (``ListObjectsV2 Prefix=games/``), not a game's own LIST."""
GAME_LIST = r"prefix=games%2F[^&]+%2F"
"""A game's LIST (``Prefix=games/{id}/``), the first request of its state probe."""


def _through(config: StorageConfig, proxy: FaultProxy) -> StorageConfig:
    """``config`` with the proxy as endpoint and the short read timeout."""
    return dataclasses.replace(
        config,
        endpoint_url=proxy.url,
        read_timeout_s=READ_TIMEOUT_S,
        connect_timeout_s=READ_TIMEOUT_S,
        max_attempts=3,
        retry_mode="standard",
    )


def _new_bucket(moto_endpoint: str, name: str) -> StorageConfig:
    """A fresh bucket (region "auto") on the session's moto server, for a module's data."""
    config = StorageConfig(moto_endpoint, f"{name}-{uuid.uuid4().hex[:10]}", "test", "secret")
    s3_client(config).create_bucket(
        Bucket=config.bucket, CreateBucketConfiguration={"LocationConstraint": "auto"}
    )
    return config


@pytest.fixture(scope="module")
def module_proxy(moto_endpoint) -> Iterator[FaultProxy]:
    with FaultProxy(moto_endpoint) as running:
        yield running


@pytest.fixture
def proxy(module_proxy: FaultProxy) -> Iterator[FaultProxy]:
    """The module's proxy with no rules and no requests seen yet."""
    module_proxy.reset()
    yield module_proxy
    module_proxy.reset()


def _small_games(config: StorageConfig, v1_hls_dir: Path, ids: list[str]) -> None:
    """Games whose probe reads as v1: the real v1 master, one-byte stand-ins for the media
    objects it references (probes list them, never read them)."""
    client = s3_client(config)
    master = (v1_hls_dir / "master.m3u8").read_bytes()
    for game_id in ids:
        client.put_object(Bucket=config.bucket, Key=f"games/{game_id}/master.m3u8", Body=master)
        for path in v1_hls_dir.iterdir():
            if path.name != "master.m3u8":
                client.put_object(
                    Bucket=config.bucket, Key=f"games/{game_id}/{path.name}", Body=b"x"
                )


def _with_storage(config: StorageConfig, work):
    """Run ``await work(storage)`` on a fresh ``Storage`` of ``config``; closed afterwards."""

    async def go():
        storage = Storage(config)
        try:
            return await work(storage)
        finally:
            storage.close()

    return asyncio.run(go())


# --- catalog listing ------------------------------------------------------------------------

LISTED = [f"g{i}" for i in range(5)]


@pytest.fixture(scope="module")
def listed_bucket(moto_endpoint: str, v1_hls_dir: Path) -> StorageConfig:
    config = _new_bucket(moto_endpoint, "faults-list")
    _small_games(config, v1_hls_dir, LISTED)
    return config


@pytest.mark.parametrize("fault", EVERY_FAULT.values(), ids=EVERY_FAULT.keys())
def test_listing_page_fault_is_retried_and_the_list_is_whole(
    listed_bucket: StorageConfig, proxy: FaultProxy, fault: Fault
) -> None:
    proxy.add(fault, method="GET", path=PAGE, nth=2)  # the second of three pages

    async def pages(storage: Storage) -> list[list[str]]:
        return [ids async for ids in CatalogService(storage, page_size=2).iter_game_pages()]

    listed = _with_storage(_through(listed_bucket, proxy), pages)
    assert [game for page in listed for game in page] == LISTED
    assert [f.fault for f in proxy.faults] == [fault.label]
    assert proxy.count("GET", PAGE) == 4  # three pages, one of them twice


@pytest.mark.parametrize("fault", [slow_down(), stall(STALL_S)], ids=["503-slowdown", "stall"])
def test_a_page_that_keeps_failing_is_one_message_never_a_half_list(
    listed_bucket: StorageConfig, proxy: FaultProxy, fault: Fault
) -> None:
    proxy.add(fault, method="GET", path=PAGE, nth=2, times=100)
    shown: list[list[str]] = []

    async def listing(storage: Storage):
        catalog = CatalogService(storage, page_size=2)
        return await catalog.list_games(on_page=lambda page: shown.append([g.id for g in page]))

    with pytest.raises(ServiceError) as caught:
        _with_storage(_through(listed_bucket, proxy), listing)
    message = str(caught.value)
    assert "stopped after 2 games" in message and "incomplete" in message
    assert ("SlowDown" in message) if fault.kind == "status" else ("in time" in message)
    assert shown == [["g0", "g1"]]
    assert len(proxy.faults) == 3  # botocore's three attempts


# --- detail ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def detail_bucket(moto_endpoint: str, v1_hls_dir: Path) -> StorageConfig:
    """One real v1 game, ``nfl-1`` (never modified by the tests)."""
    config = _new_bucket(moto_endpoint, "faults-game")
    upload_game(config, "nfl-1", v1_hls_dir, meta={"title": "Faults", "league": "NFL"})
    return config


async def _nfl_detail(storage: Storage):
    return await CatalogService(storage).detail("nfl-1")


@pytest.fixture(scope="module")
def clean_detail(detail_bucket: StorageConfig) -> tuple:
    """The outline of nfl-1's detail read without faults."""
    return _detail_outline(_with_storage(detail_bucket, _nfl_detail))


def _detail_outline(detail) -> tuple:
    return (
        detail.summary,
        [(r.name, r.playlist_key, r.kind, r.missing) for r in detail.renditions],
        [(o.key, o.size) for o in detail.objects],
        detail.master_text,
    )


@pytest.mark.parametrize("fault", BEFORE_BODY.values(), ids=BEFORE_BODY.keys())
def test_detail_is_retried_through_a_fault_before_the_body(
    detail_bucket: StorageConfig, clean_detail: tuple, proxy: FaultProxy, fault: Fault
) -> None:
    proxy.add(fault, method="GET", path=r"/nfl-1/master\.m3u8", nth=1)
    proxy.add(fault, method="GET", path=r"/nfl-1/meta\.json", nth=1)
    proxy.add(fault, method="GET", path=GAME_LIST, nth=1)
    got = _detail_outline(_with_storage(_through(detail_bucket, proxy), _nfl_detail))
    assert got == clean_detail
    assert clean_detail[0].state is GameState.V1
    assert len(proxy.faults) == 3


@pytest.mark.parametrize("fault", IN_BODY.values(), ids=IN_BODY.keys())
def test_detail_with_a_playlist_broken_mid_body_is_one_clear_message(
    detail_bucket: StorageConfig, proxy: FaultProxy, fault: Fault
) -> None:
    proxy.add(fault, method="GET", path=r"/nfl-1/master\.m3u8", nth=1)
    started = time.monotonic()
    with pytest.raises(Unreachable) as caught:
        _with_storage(_through(detail_bucket, proxy), _nfl_detail)
    assert time.monotonic() - started < STALL_S + 5
    message = str(caught.value)
    assert "games/nfl-1/master.m3u8" in message
    assert "mid-answer" in message or "in time" in message
    assert "Traceback" not in message


# --- playback gateway ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def module_gateway(detail_bucket: StorageConfig, module_proxy: FaultProxy):
    gateway = PlaybackGateway(_through(detail_bucket, module_proxy))
    gateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture
def gateway_through(module_gateway: PlaybackGateway, proxy: FaultProxy) -> PlaybackGateway:
    """A playback gateway reading nfl-1's bucket through the (reset) proxy."""
    return module_gateway


SEGMENT = "games/nfl-1/seg_00001.m4s"


@pytest.mark.parametrize("fault", BEFORE_BODY.values(), ids=BEFORE_BODY.keys())
def test_gateway_is_retried_through_a_fault_before_the_body(
    gateway_through: PlaybackGateway, proxy: FaultProxy, v1_hls_dir: Path, fault: Fault
) -> None:
    proxy.add(fault, method="GET", path=r"/seg_00001\.m4s", nth=1)
    answer = httpx.get(gateway_through.url_for(SEGMENT), timeout=30)
    assert answer.status_code == 200
    assert answer.content == (v1_hls_dir / "seg_00001.m4s").read_bytes()
    assert [f.fault for f in proxy.faults] == [fault.label]


@pytest.mark.parametrize("fault", IN_BODY.values(), ids=IN_BODY.keys())
def test_gateway_fault_mid_body_is_a_failed_read_not_a_hang(
    gateway_through: PlaybackGateway, proxy: FaultProxy, fault: Fault
) -> None:
    proxy.add(fault, method="GET", path=r"/seg_00001\.m4s", nth=1)
    started = time.monotonic()
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(gateway_through.url_for(SEGMENT), timeout=30)
    assert time.monotonic() - started < READ_TIMEOUT_S + 5
    # the next request is served whole (the gateway is fine, the fault was one answer)
    assert httpx.get(gateway_through.url_for(SEGMENT), timeout=30).status_code == 200


def test_gateway_answers_the_store_status_when_it_keeps_failing(
    gateway_through: PlaybackGateway, proxy: FaultProxy
) -> None:
    proxy.add(slow_down(), method="GET", path=r"/seg_00001\.m4s")
    answer = httpx.get(gateway_through.url_for(SEGMENT), timeout=30)
    assert answer.status_code == 503
    assert "SlowDown" in answer.text and gateway_through.token not in answer.text
    assert len(proxy.faults) == 3


# --- spot-check hashing ---------------------------------------------------------------------


def _row(v1_hls_dir: Path, game_id: str = "nfl-1") -> PackagedRendition:
    """A ledger row recording the v1 objects of ``game_id`` (the files' sizes and SHA-256)."""
    objects = tuple(
        LedgerObject(f"games/{game_id}/{p.name}", p.stat().st_size, _sha(p.read_bytes()))
        for p in sorted(v1_hls_dir.iterdir())
        if p.suffix in (".mp4", ".m4s")
    )
    return PackagedRendition(
        game_id=game_id,
        rung="v1",
        ladder_name="test",
        ladder_version=1,
        encoder_settings={},
        ffmpeg_version="",
        source_key="games/nfl-1/master.m3u8",
        source_sha256="",
        created_at="",
        job_id="",
        playlist="games/nfl-1/master.m3u8",
        width=0,
        height=0,
        frame_rate=0.0,
        codecs="",
        bandwidth=0,
        average_bandwidth=0,
        objects=objects,
    )


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check(config: StorageConfig, row: PackagedRendition):
    async def work(storage: Storage):
        hasher = StoreHasher(storage)
        try:
            return await check_objects(hasher, row, f"games/{row.game_id}/")
        finally:
            hasher.close()

    return _with_storage(config, work)


@pytest.mark.parametrize("fault", BEFORE_BODY.values(), ids=BEFORE_BODY.keys())
def test_hashing_is_retried_through_a_fault_before_the_body(
    detail_bucket: StorageConfig, proxy: FaultProxy, v1_hls_dir: Path, fault: Fault
) -> None:
    proxy.add(fault, method="GET", path=r"/seg_0000[13]\.m4s", per_path=1)
    result = _check(_through(detail_bucket, proxy), _row(v1_hls_dir))
    assert result.verdict.value == "pass", result.reasons
    assert len(proxy.faults) == 2


@pytest.mark.parametrize("fault", IN_BODY.values(), ids=IN_BODY.keys())
def test_hashing_fault_mid_body_is_could_not_read_never_a_mismatch(
    detail_bucket: StorageConfig, proxy: FaultProxy, v1_hls_dir: Path, fault: Fault
) -> None:
    proxy.add(fault, method="GET", path=r"/seg_00001\.m4s", nth=1)
    result = _check(_through(detail_bucket, proxy), _row(v1_hls_dir))
    assert result.verdict.value == "fail"
    (reason,) = result.reasons
    assert reason.startswith("could not read seg_00001.m4s: ")
    assert "mismatch" not in reason and "bytes stored" not in reason
    assert "run the spot-check again" in reason


def test_hashing_still_finds_a_real_mismatch_beside_a_fault(
    detail_bucket: StorageConfig, proxy: FaultProxy, v1_hls_dir: Path
) -> None:
    upload_game(detail_bucket, "nfl-flip", v1_hls_dir)
    flipped = bytearray((v1_hls_dir / "seg_00002.m4s").read_bytes())
    flipped[1000] ^= 0xFF
    s3_client(detail_bucket).put_object(
        Bucket=detail_bucket.bucket, Key="games/nfl-flip/seg_00002.m4s", Body=bytes(flipped)
    )
    proxy.add(cut(0.3), method="GET", path=r"/seg_00001\.m4s", nth=1)
    result = _check(_through(detail_bucket, proxy), _row(v1_hls_dir, "nfl-flip"))
    assert len(result.reasons) == 2
    assert result.reasons[0].startswith("could not read seg_00001.m4s")
    assert result.reasons[1].startswith("seg_00002.m4s: checksum mismatch")


# --- playback through the gateway with the real libmpv -------------------------------------


@pytest.fixture
def player(qtbot):
    from player.controller import Player
    from player.video_widget import MpvSoftwareWidget

    player = Player()
    widget = MpvSoftwareWidget(player)
    qtbot.addWidget(widget)
    widget.resize(320, 180)
    widget.show()
    try:
        yield player, widget
    finally:
        player.shutdown()


def _v1_source(gateway: PlaybackGateway, v1_hls_dir: Path):
    from services.hls import parse_playlist
    from services.playback import source_for_playlist

    key = "games/nfl-1/master.m3u8"
    playlist = parse_playlist((v1_hls_dir / "master.m3u8").read_bytes(), key)
    return source_for_playlist("Faulty game", key, playlist, gateway.url_for)


@pytest.mark.parametrize("fault", IN_BODY.values(), ids=IN_BODY.keys())
def test_mpv_resumes_past_a_segment_broken_mid_body(
    qtbot, player, gateway_through, proxy, v1_hls_dir, fault: Fault
) -> None:
    """The gateway closes the broken answer short of its length; mpv sees the failed read
    and asks for the rest with a ``Range`` request, then plays on."""
    proxy.add(fault, method="GET", path="/seg_00000.m4s", nth=1)
    mpv, widget = player
    errors: list[str] = []
    mpv.error.connect(errors.append)
    mpv.load(_v1_source(gateway_through, v1_hls_dir))
    qtbot.waitUntil(lambda: widget.frames_rendered > 30, timeout=30_000)
    asked = [s for s in proxy.requests if s.path.endswith("/seg_00000.m4s")]
    assert asked[0].fault == fault.label
    assert asked[1].range.startswith("bytes=") and asked[1].range != "bytes=0-"
    assert not errors


@pytest.mark.parametrize(
    ("target", "fault", "every", "status"),
    [
        ("init.mp4", reset(0.5), False, "502"),  # broke before the gateway's first bytes
        ("init.mp4", stall(STALL_S), True, "502"),
        ("init.mp4", reset(0.0), True, "502"),
        ("seg_00000.m4s", slow_down(), True, "503"),
        ("seg_00000.m4s", server_error(500), True, "500"),
    ],
    ids=["init-reset-once", "init-stall", "init-reset-at-once", "segment-slowdown", "segment-500"],
)
def test_mpv_sees_an_error_not_a_hang(
    qtbot, player, gateway_through, proxy, v1_hls_dir, target, fault, every, status
) -> None:
    proxy.add(fault, method="GET", path=f"/{target}", nth=None if every else 1)
    mpv, widget = player
    errors: list[str] = []
    mpv.error.connect(errors.append)
    mpv.load(_v1_source(gateway_through, v1_hls_dir))
    qtbot.waitUntil(lambda: bool(errors), timeout=30_000)
    assert target in errors[0] and f"HTTP {status}" in errors[0]
    assert "Traceback" not in errors[0] and gateway_through.token not in errors[0]


# --- the catalog in the real window: first start with failing probes -----------------------

GUI_GAMES = [f"g{i}" for i in range(8)]


@pytest.fixture(scope="module")
def gui_bucket(moto_endpoint: str, v1_hls_dir: Path) -> StorageConfig:
    config = _new_bucket(moto_endpoint, "faults-gui")
    _small_games(config, v1_hls_dir, GUI_GAMES)
    return config


@pytest.fixture
def window_on(qapp, qloop, qtbot, monkeypatch, proxy):
    """``window_on(config)``: the real console window on ``config``'s bucket through the
    proxy, with a 1 s read timeout (the environment's botocore settings); closed after."""
    from console.gui.app import make_application
    from console.gui.composition import build_console
    from tests.gui_support import make_profile, run_task

    monkeypatch.setenv("VIDEO_OPS_S3_READ_TIMEOUT", str(READ_TIMEOUT_S))
    monkeypatch.setenv("VIDEO_OPS_S3_CONNECT_TIMEOUT", str(READ_TIMEOUT_S))
    built = []

    def open_window(config: StorageConfig):
        name = f"faults-{uuid.uuid4().hex[:6]}"
        make_profile(name, dataclasses.replace(config, endpoint_url=proxy.url))
        built.append(run_task(qtbot, build_console(make_application(), name)))
        return built[-1]

    yield open_window
    for console in built:
        console.close()
        console.window.close()


def _rows(console) -> dict[str, tuple]:
    model = console.window.catalog_panel.model
    return {
        model.game(r).id: (model.game(r).state, model.game(r).reason)
        for r in range(model.rowCount())
    }


def _all_states_shown(console, count: int) -> bool:
    rows = _rows(console)
    return len(rows) == count and all(state for state, _ in rows.values())


def test_first_start_probes_whose_first_requests_fail_are_retried(
    qtbot, window_on, gui_bucket: StorageConfig, proxy: FaultProxy
) -> None:
    """Issue 13's "First start": every probe's first LIST stalls past the read timeout and
    its first GET of master.m3u8 answers SlowDown; every State cell still fills, as v1."""
    proxy.add(stall(STALL_S), method="GET", path=GAME_LIST, per_path=1)
    proxy.add(slow_down(), method="GET", path=r"/master\.m3u8", per_path=1)
    started = time.monotonic()
    console = window_on(gui_bucket)
    qtbot.waitUntil(lambda: _all_states_shown(console, 8), timeout=60_000)
    assert {game: state for game, (state, _) in _rows(console).items()} == dict.fromkeys(
        GUI_GAMES, GameState.V1
    )
    assert len(proxy.faults) == 16
    assert time.monotonic() - started < 40
    assert not console.window.banner.isVisible()


def test_a_probe_the_store_keeps_failing_shows_why_never_stays_unread(
    qtbot, window_on, gui_bucket: StorageConfig, proxy: FaultProxy
) -> None:
    proxy.add(slow_down(), path=r"games%2Fg3%2F|/games/g3/")  # every request of g3
    proxy.add(stall(STALL_S), method="GET", path=r"/games/g5/master\.m3u8")
    console = window_on(gui_bucket)
    qtbot.waitUntil(lambda: _all_states_shown(console, 8), timeout=60_000)
    rows = _rows(console)
    for game in ("g3", "g5"):
        state, reason = rows[game]
        assert state is GameState.BROKEN and reason.startswith("state not read: ")
    assert "SlowDown after 3 attempts" in rows["g3"][1] and "games/g3/" in rows["g3"][1]
    assert "did not answer in time (games/g5/master.m3u8)" in rows["g5"][1]
    assert all(rows[g][0] is GameState.V1 for g in GUI_GAMES if g not in ("g3", "g5"))


class _ProbeWithABug(CatalogService):
    """A catalog whose probe of ``g2`` raises what no store error is (a bug)."""

    async def probe_or_error(self, game_id: str):
        if game_id == "g2":
            raise RuntimeError("a bug in the probe")
        return await super().probe_or_error(game_id)


def test_a_probe_that_raises_a_bug_still_gets_a_row_with_the_reason(
    qtbot, window_on, gui_bucket: StorageConfig
) -> None:
    console = window_on(gui_bucket)
    qtbot.waitUntil(lambda: _all_states_shown(console, 8), timeout=60_000)
    controller = console.catalog
    controller.context = dataclasses.replace(
        controller.context, catalog=_ProbeWithABug(console.context.storage)
    )
    finished: list[int] = []
    controller.listing_finished.connect(lambda count, _s: finished.append(count))
    controller.refresh()
    qtbot.waitUntil(lambda: bool(finished) and _all_states_shown(console, 8), timeout=60_000)
    qtbot.waitUntil(lambda: _rows(console)["g2"][1].startswith("state not read"), timeout=10_000)
    state, reason = _rows(console)["g2"]
    assert state is GameState.BROKEN and "RuntimeError: a bug in the probe" in reason


def test_a_listing_page_that_keeps_failing_says_the_list_is_incomplete(
    qtbot, window_on, gui_bucket: StorageConfig, proxy: FaultProxy
) -> None:
    console = window_on(gui_bucket)
    qtbot.waitUntil(lambda: _all_states_shown(console, 8), timeout=60_000)
    console.context.catalog.page_size = 3
    proxy.add(slow_down(), method="GET", path=PAGE, nth=2, times=100)
    errors: list[str] = []
    console.catalog.error.connect(errors.append)
    console.catalog.refresh()
    qtbot.waitUntil(lambda: bool(errors), timeout=30_000)
    assert "stopped after 3 games" in errors[0] and "incomplete" in errors[0]
    assert "SlowDown" in errors[0]
    assert _all_states_shown(console, 3)  # the listed games still got their states
    assert console.window.banner.isVisible()


# --- backfill uploads (the short v1 game encoded for real, a one-rung ladder) --------------

BACKFILL_RUNGS = ("360p",)


@pytest.fixture(scope="module")
def backfill_bucket(moto_endpoint: str, tmp_path_factory):
    """``(rig, short v1 folder, the clean run's result)``: games ``clean`` (backfilled once
    without faults: the uninterrupted run) and ``faulty`` (v1, for the test)."""
    from tests.backfill_support import backfill_rig, make_short_v1

    config = _new_bucket(moto_endpoint, "faults-bf")
    short_v1 = make_short_v1(tmp_path_factory.mktemp("faults-v1"))
    upload_game(config, "clean", short_v1)
    upload_game(config, "faulty", short_v1)
    with backfill_rig(config, tmp_path_factory.mktemp("faults-work")) as rig:
        rig.ladder = dataclasses.replace(
            rig.ladder, rungs=tuple(r for r in rig.ladder.rungs if r.name in BACKFILL_RUNGS)
        )
        outcome, _ = rig.backfill("clean")
        assert outcome.result["rungs"] == list(BACKFILL_RUNGS), outcome.result
        yield rig, short_v1, _final_state(rig, "clean")


def _final_state(rig, game: str) -> dict:
    """What a backfill leaves, relative to the game: SHA-256 of every object but the
    ledger, and the ledger's objects (key, size, SHA-256)."""
    import json

    prefix = f"games/{game}/"
    stored = {
        key[len(prefix) :]: _sha(rig.read(key))
        for key in rig.objects(prefix)
        if not key.endswith("renditions.json")
    }
    ledger = json.loads(rig.read(prefix + "abr/renditions.json"))
    recorded = sorted(
        (o["key"][len(prefix) :], o["size"], o["sha256"])
        for row in ledger["renditions"]
        for o in row["objects"]
    )
    return {"stored": stored, "ledger": recorded}


@pytest.mark.timeout(600)  # the encodes run niced: a busy machine starves them for minutes
def test_backfill_under_faults_never_records_a_short_write_and_ends_as_a_clean_run(
    backfill_bucket, proxy: FaultProxy
) -> None:
    """1. A rung segment's upload reaches the store cut short (a store that does not check
    the checksum keeps it): the job stops with a clear message, nothing is in a ledger and
    master.m3u8 is still v1. 2. Re-run with 5xx, SlowDown, resets and stalls on uploads,
    HEADs, the ledger, the anchor and the publish (botocore retries them; a conditional
    write whose answer was lost is recognised): the game ends exactly as the clean run."""
    rig, short_v1, clean = backfill_bucket
    faulty = _through(rig.config, proxy)
    proxy.add(short_upload(0.5), method="PUT", path=r"/abr/360p/seg_00000\.m4s", nth=1)
    with pytest.raises(ServiceError) as caught:
        rig.backfill("faulty", config=faulty)
    assert "games/faulty/abr/360p/seg_00000.m4s" in str(caught.value)
    assert "short or damaged write" in str(caught.value)
    stored = rig.objects("games/faulty/")
    assert "games/faulty/abr/renditions.json" not in stored
    assert rig.read("games/faulty/master.m3u8") == (short_v1 / "master.m3u8").read_bytes()

    proxy.clear()
    rung = r"/faulty/abr/360p/"
    proxy.add(slow_down(), method="PUT", path=rung + r"init\.mp4$", nth=1)
    proxy.add(reset(None), method="PUT", path=rung + r"seg_00001\.m4s$", nth=1)
    proxy.add(stall(STALL_S), method="PUT", path=rung + r"index\.m3u8$", nth=1)
    proxy.add(server_error(500), method="HEAD", path=rung + r"seg_00000\.m4s$", nth=1)
    proxy.add(stall(STALL_S), method="HEAD", path=rung + r"init\.mp4$", nth=1)
    uploads = r"/abr/.+\.(m4s|mp4|m3u8)$"  # and more at a seeded rate, once per object
    proxy.add(server_error(503), method="PUT", path=uploads, rate=0.3, seed=7, per_path=1)
    proxy.add(cut(0.5), method="GET", path=GAME_LIST, nth=1)
    proxy.add(slow_down(), method="PUT", path=r"/renditions\.json$", nth=1)
    proxy.add(stall(STALL_S), method="PUT", path=r"/master\.v1\.m3u8$", nth=1)
    proxy.add(reset(None), method="PUT", path=r"/faulty/master\.m3u8$", nth=1)
    outcome, reporter = rig.backfill("faulty", config=faulty)
    assert outcome.result["master_published"] is True
    assert any("an earlier attempt of the write landed" in line for line in reporter.lines)
    # the ledger's SlowDown, the listing's cut, the anchor's stall, the publish's reset and
    # a verifying HEAD's 500 always happen; the rung PUTs' faults depend on what the first
    # run had stored before it stopped
    kinds = {s.fault for s in proxy.faults}
    assert {"503 SlowDown", "reset", "500 InternalError", "cut", "stall"} <= kinds, kinds
    assert _final_state(rig, "faulty") == clean
