"""services.catalog on a real moto server: pagination over > 1,000 games, every game state
of docs/contracts.md §1.1, meta.json, league filtering, and a game's detail."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import pytest

from services.abr.ledger import LedgerDocument, LedgerObject, PackagedRendition
from services.catalog import CatalogService, GameDetail, GameState, GameSummary
from services.errors import NotFound
from services.hls import MediaPlaylist, MultivariantPlaylist
from services.storage import Storage, StorageConfig
from tests.conftest import s3_client, upload_game

T = TypeVar("T")

META = {
    "title": "Bunnies at Rabbits",
    "league": "NFL",
    "date": "2024-09-08",
    "home": "Rabbits",
    "away": "Bunnies",
}

MULTIVARIANT = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=3300000,AVERAGE-BANDWIDTH=3000000,RESOLUTION=1280x720,\
CODECS="avc1.64001f,mp4a.40.2",FRAME-RATE=24
abr/720p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,RESOLUTION=640x360,\
CODECS="avc1.42c01e,mp4a.40.2",FRAME-RATE=24
abr/360p/index.m3u8
"""


def with_catalog(
    config: StorageConfig,
    work: Callable[[CatalogService], Awaitable[T]],
    *,
    source_prefix: str = "",
) -> T:
    """Run ``work(catalog)`` on a fresh event loop with its own Storage."""

    async def go() -> T:
        storage = Storage(config)
        try:
            return await work(CatalogService(storage, source_prefix=source_prefix))
        finally:
            storage.close()

    return asyncio.run(go())


def probe(config: StorageConfig, game_id: str) -> GameSummary:
    return with_catalog(config, lambda c: c.probe(game_id))


def detail(config: StorageConfig, game_id: str, *, source_prefix: str = "") -> GameDetail:
    return with_catalog(config, lambda c: c.detail(game_id), source_prefix=source_prefix)


def put(config: StorageConfig, key: str, body: bytes) -> None:
    s3_client(config).put_object(Bucket=config.bucket, Key=key, Body=body)


def upload_rung(config: StorageConfig, game_id: str, rung: str, hls_dir: Path) -> None:
    """A complete rung: the v1 objects under ``abr/{rung}/`` with the playlist as index.m3u8."""
    client = s3_client(config)
    for path in sorted(hls_dir.iterdir()):
        name = "index.m3u8" if path.name == "master.m3u8" else path.name
        client.put_object(
            Bucket=config.bucket, Key=f"games/{game_id}/abr/{rung}/{name}", Body=path.read_bytes()
        )


def upload_v15(config: StorageConfig, game_id: str, hls_dir: Path) -> None:
    upload_game(config, game_id, hls_dir, meta=META)
    put(config, f"games/{game_id}/master.v1.m3u8", (hls_dir / "master.m3u8").read_bytes())
    for rung in ("720p", "360p"):
        upload_rung(config, game_id, rung, hls_dir)
    put(config, f"games/{game_id}/abr/renditions.json", ledger_for(game_id).to_bytes())
    put(config, f"games/{game_id}/master.m3u8", MULTIVARIANT.encode())


def ledger_for(game_id: str) -> LedgerDocument:
    """A schema-1 ledger recording the two rungs of ``MULTIVARIANT``."""
    sha = "0" * 64
    rows = tuple(
        PackagedRendition(
            game_id=game_id,
            rung=rung,
            ladder_name="abr",
            ladder_version=1,
            encoder_settings={},
            ffmpeg_version="ffmpeg version test",
            source_key=f"games/{game_id}/master.m3u8",
            source_sha256=sha,
            created_at="2026-01-01T00:00:00Z",
            job_id="job",
            width=width,
            height=height,
            playlist=f"games/{game_id}/abr/{rung}/index.m3u8",
            frame_rate=24.0,
            codecs="avc1.64001f,mp4a.40.2",
            bandwidth=bandwidth,
            average_bandwidth=average,
            objects=(LedgerObject(f"games/{game_id}/abr/{rung}/init.mp4", 1, sha),),
        )
        for rung, width, height, bandwidth, average in (
            ("720p", 1280, 720, 3_300_000, 3_000_000),
            ("360p", 640, 360, 900_000, 800_000),
        )
    )
    return LedgerDocument(game_id, "job", "2026-01-01T00:00:00Z", "abr", 1, rows, ())


# --- pagination -------------------------------------------------------------------------------


def test_iter_game_pages_over_more_than_1000_games(storage_config: StorageConfig) -> None:
    client = s3_client(storage_config)
    ids = [f"g{i:05d}" for i in range(1205)]

    def create(game_id: str) -> None:
        client.put_object(
            Bucket=storage_config.bucket, Key=f"games/{game_id}/master.m3u8", Body=b"#EXTM3U\n"
        )

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(create, ids))

    async def pages(catalog: CatalogService) -> list[list[str]]:
        return [page async for page in catalog.iter_game_pages()]

    got = with_catalog(storage_config, pages)
    assert [len(page) for page in got] == [1000, 205]
    assert [game_id for page in got for game_id in page] == ids


def test_iter_game_pages_on_an_empty_bucket(storage_config: StorageConfig) -> None:
    async def pages(catalog: CatalogService) -> list[list[str]]:
        return [page async for page in catalog.iter_game_pages()]

    assert with_catalog(storage_config, pages) == []


# --- states -----------------------------------------------------------------------------------


def test_v1_game_state_and_meta(storage_config: StorageConfig, v1_hls_dir: Path) -> None:
    upload_game(storage_config, "nfl-001", v1_hls_dir, meta=META)
    summary = probe(storage_config, "nfl-001")

    assert summary.state is GameState.V1
    assert "11 segments" in summary.reason
    assert "55." in summary.reason
    assert summary.id == "nfl-001"
    assert summary.prefix == "games/nfl-001/"
    assert (summary.title, summary.league, summary.date, summary.home, summary.away) == (
        META["title"],
        META["league"],
        META["date"],
        META["home"],
        META["away"],
    )
    row = summary.as_json()
    assert row["state"] == "v1" and row["league"] == "NFL" and row["id"] == "nfl-001"


def test_game_without_meta_is_titled_by_its_id(
    storage_config: StorageConfig, v1_hls_dir: Path
) -> None:
    upload_game(storage_config, "plain", v1_hls_dir)
    summary = probe(storage_config, "plain")
    assert summary.state is GameState.V1
    assert summary.title == "plain"
    assert summary.league == ""


def test_unreadable_meta_does_not_break_the_game(
    storage_config: StorageConfig, v1_hls_dir: Path
) -> None:
    upload_game(storage_config, "badmeta", v1_hls_dir)
    put(storage_config, "games/badmeta/meta.json", b"{not json")
    summary = probe(storage_config, "badmeta")
    assert summary.state is GameState.V1
    assert summary.title == "badmeta"


def test_partial_game_has_rung_objects_but_a_v1_master(
    storage_config: StorageConfig, v1_hls_dir: Path
) -> None:
    upload_game(storage_config, "part", v1_hls_dir, meta=META)
    put(storage_config, "games/part/abr/360p/index.m3u8", (v1_hls_dir / "master.m3u8").read_bytes())
    summary = probe(storage_config, "part")
    assert summary.state is GameState.PARTIAL
    assert "interrupted" in summary.reason


def test_partial_game_with_only_the_anchor_copied(
    storage_config: StorageConfig, v1_hls_dir: Path
) -> None:
    upload_game(storage_config, "anchored", v1_hls_dir)
    put(storage_config, "games/anchored/master.v1.m3u8", (v1_hls_dir / "master.m3u8").read_bytes())
    assert probe(storage_config, "anchored").state is GameState.PARTIAL


def test_v15_game(storage_config: StorageConfig, v1_hls_dir: Path) -> None:
    upload_v15(storage_config, "done", v1_hls_dir)
    summary = probe(storage_config, "done")
    assert summary.state is GameState.V15
    assert "2 rungs" in summary.reason
    assert summary.league == "NFL"


def test_broken_when_a_segment_is_missing(storage_config: StorageConfig, v1_hls_dir: Path) -> None:
    upload_game(storage_config, "holey", v1_hls_dir, skip=("seg_00002.m4s",))
    summary = probe(storage_config, "holey")
    assert summary.state is GameState.BROKEN
    assert "seg_00002.m4s" in summary.reason
    assert "seg_00001.m4s" not in summary.reason


def test_broken_reason_counts_many_missing_objects(
    storage_config: StorageConfig, v1_hls_dir: Path
) -> None:
    missing = tuple(f"seg_{i:05d}.m4s" for i in (1, 3, 5, 7, 9))
    upload_game(storage_config, "holier", v1_hls_dir, skip=missing)
    summary = probe(storage_config, "holier")
    assert summary.state is GameState.BROKEN
    assert "seg_00001.m4s, seg_00003.m4s, seg_00005.m4s and 2 more" in summary.reason


def test_broken_when_the_init_section_is_missing(
    storage_config: StorageConfig, v1_hls_dir: Path
) -> None:
    upload_game(storage_config, "noinit", v1_hls_dir, skip=("init.mp4",))
    summary = probe(storage_config, "noinit")
    assert summary.state is GameState.BROKEN
    assert "init.mp4" in summary.reason


def test_broken_when_the_master_is_missing(storage_config: StorageConfig, v1_hls_dir: Path) -> None:
    upload_game(storage_config, "headless", v1_hls_dir, meta=META, skip=("master.m3u8",))
    summary = probe(storage_config, "headless")
    assert summary.state is GameState.BROKEN
    assert summary.reason == "master.m3u8 is missing"
    assert summary.title == META["title"]


def test_broken_when_the_master_is_malformed(
    storage_config: StorageConfig, v1_hls_dir: Path, shared_dir: Path
) -> None:
    upload_game(storage_config, "garbled", v1_hls_dir, skip=("master.m3u8",))
    malformed = (shared_dir / "hls/m3u8-parser_npm_7.2.0/manifestNoExtM3u.m3u8").read_bytes()
    put(storage_config, "games/garbled/master.m3u8", malformed)
    summary = probe(storage_config, "garbled")
    assert summary.state is GameState.BROKEN
    assert "malformed" in summary.reason
    assert "EXTM3U" in summary.reason


def test_broken_when_the_anchor_differs_from_the_v1_master(
    storage_config: StorageConfig, v1_hls_dir: Path
) -> None:
    upload_game(storage_config, "drift", v1_hls_dir)
    changed = (v1_hls_dir / "master.m3u8").read_bytes() + b"# edited by hand\n"
    put(storage_config, "games/drift/master.v1.m3u8", changed)
    summary = probe(storage_config, "drift")
    assert summary.state is GameState.BROKEN
    assert "master.v1.m3u8 differs" in summary.reason


def test_broken_when_a_multivariant_master_has_no_anchor(
    storage_config: StorageConfig, v1_hls_dir: Path
) -> None:
    upload_v15(storage_config, "lost-anchor", v1_hls_dir)
    s3_client(storage_config).delete_object(
        Bucket=storage_config.bucket, Key="games/lost-anchor/master.v1.m3u8"
    )
    summary = probe(storage_config, "lost-anchor")
    assert summary.state is GameState.BROKEN
    assert "master.v1.m3u8" in summary.reason


def test_truncated_segment_still_lists_as_v1(
    storage_config: StorageConfig, v1_hls_dir: Path, shared_dir: Path
) -> None:
    """The catalog never reads segments (one LIST + one GET per game): a truncated media
    object under a valid playlist still lists as v1. Catching it is spot-check's job."""
    upload_game(storage_config, "cut", v1_hls_dir)
    truncated = (shared_dir / "media/pymediainfo_sample_truncated.mkv").read_bytes()
    put(storage_config, "games/cut/seg_00003.m4s", truncated)

    summary = probe(storage_config, "cut")
    assert summary.state is GameState.V1

    info = detail(storage_config, "cut")
    seg = info.object("games/cut/seg_00003.m4s")
    assert seg is not None
    assert seg.size == len(truncated)
    assert seg.etag == hashlib.md5(truncated).hexdigest()
    (v1,) = info.renditions
    assert v1.missing == ()
    assert isinstance(v1.playlist, MediaPlaylist) and len(v1.playlist.segments) == 11


# --- listing with probes ----------------------------------------------------------------------


def test_list_games_filters_by_league_and_reports_pages(
    storage_config: StorageConfig, v1_hls_dir: Path
) -> None:
    upload_game(storage_config, "a-nfl", v1_hls_dir, meta={**META, "league": "NFL"})
    upload_game(storage_config, "b-nba", v1_hls_dir, meta={**META, "league": "NBA"})
    upload_game(storage_config, "c-nfl", v1_hls_dir, meta={**META, "league": "nfl"})
    upload_game(storage_config, "d-none", v1_hls_dir, skip=("seg_00000.m4s",))
    pages: list[list[GameSummary]] = []

    everything = with_catalog(storage_config, lambda c: c.list_games())
    nfl = with_catalog(storage_config, lambda c: c.list_games(league="NFL", on_page=pages.append))
    nba = with_catalog(storage_config, lambda c: c.list_games(league="nba"))

    assert [g.id for g in everything] == ["a-nfl", "b-nba", "c-nfl", "d-none"]
    assert {g.id: g.state for g in everything} == {
        "a-nfl": GameState.V1,
        "b-nba": GameState.V1,
        "c-nfl": GameState.V1,
        "d-none": GameState.BROKEN,
    }
    assert [g.id for g in nfl] == ["a-nfl", "c-nfl"]
    assert [[g.id for g in page] for page in pages] == [["a-nfl", "c-nfl"]]
    assert [g.id for g in nba] == ["b-nba"]
    assert nba[0].title == META["title"] and nba[0].home == "Rabbits"


# --- detail -----------------------------------------------------------------------------------


def test_detail_of_a_v1_game(storage_config: StorageConfig, v1_hls_dir: Path) -> None:
    keys = upload_game(storage_config, "g1", v1_hls_dir, meta=META)
    info = detail(storage_config, "g1")

    assert info.summary.state is GameState.V1
    assert info.master_text == (v1_hls_dir / "master.m3u8").read_text()
    assert info.ledger is None
    (v1,) = info.renditions
    assert v1.name == "v1"
    assert v1.playlist_key == "games/g1/master.m3u8"
    assert v1.kind == "media"
    assert isinstance(v1.playlist, MediaPlaylist)
    assert len(v1.playlist.segments) == 11
    assert v1.missing == () and v1.error == ""
    assert sorted(o.key for o in info.objects) == sorted(keys)
    for obj in info.objects:
        local = v1_hls_dir / obj.key.removeprefix("games/g1/")
        if local.exists():
            assert obj.size == local.stat().st_size
            assert obj.etag == hashlib.md5(local.read_bytes()).hexdigest()
        assert isinstance(obj.last_modified, datetime)
    assert info.object("games/g1/nope") is None


def test_detail_of_a_partial_game_shows_the_rung(
    storage_config: StorageConfig, v1_hls_dir: Path
) -> None:
    upload_game(storage_config, "part", v1_hls_dir)
    put(storage_config, "games/part/abr/360p/index.m3u8", (v1_hls_dir / "master.m3u8").read_bytes())
    info = detail(storage_config, "part")

    assert info.summary.state is GameState.PARTIAL
    assert [r.name for r in info.renditions] == ["v1", "360p"]
    v1, rung = info.renditions
    assert v1.missing == ()
    assert rung.playlist_key == "games/part/abr/360p/index.m3u8"
    assert isinstance(rung.playlist, MediaPlaylist) and len(rung.playlist.segments) == 11
    # the interrupted backfill wrote the playlist but none of its objects
    assert len(rung.missing) == 12
    assert "games/part/abr/360p/init.mp4" in rung.missing


def test_detail_of_a_v15_game(storage_config: StorageConfig, v1_hls_dir: Path) -> None:
    upload_v15(storage_config, "done", v1_hls_dir)
    info = detail(storage_config, "done")

    assert info.summary.state is GameState.V15
    assert [r.name for r in info.renditions] == ["ABR (multivariant)", "v1", "720p", "360p"]
    abr, v1, top, low = info.renditions
    assert isinstance(abr.playlist, MultivariantPlaylist)
    assert abr.kind == "multivariant"
    assert abr.missing == ()
    assert v1.playlist_key == "games/done/master.v1.m3u8"
    assert isinstance(v1.playlist, MediaPlaylist) and len(v1.playlist.segments) == 11
    assert v1.missing == ()
    assert (top.bandwidth, top.resolution) == (3_300_000, (1280, 720))
    assert (low.bandwidth, low.resolution) == (900_000, (640, 360))
    assert top.playlist_key == "games/done/abr/720p/index.m3u8"
    assert top.missing == () and low.missing == ()
    assert info.master_text == MULTIVARIANT
    assert isinstance(info.ledger, LedgerDocument) and [r.rung for r in info.ledger.renditions] == [
        "720p",
        "360p",
    ]
    assert info.ledger == ledger_for("done") and info.ledger_problem == ""
    assert info.source_key is None


def test_detail_of_a_game_with_a_malformed_ledger_says_why(
    storage_config: StorageConfig, v1_hls_dir: Path
) -> None:
    upload_v15(storage_config, "badledger", v1_hls_dir)
    rows = [{"game_id": "badledger", "rung": r, "objects": []} for r in ("720p", "360p")]
    put(storage_config, "games/badledger/abr/renditions.json", json.dumps(rows).encode())
    info = detail(storage_config, "badledger")

    assert info.summary.state is GameState.V15  # the state does not read the ledger
    assert info.ledger is None
    assert info.ledger_problem.startswith(
        "games/badledger/abr/renditions.json is not a readable packaging ledger"
    )
    assert "expected an object, got a list" in info.ledger_problem
    assert [r.name for r in info.renditions] == ["ABR (multivariant)", "v1", "720p", "360p"]


def test_detail_finds_the_source_by_the_layout_rule(
    storage_config: StorageConfig, v1_hls_dir: Path
) -> None:
    upload_game(storage_config, "src1", v1_hls_dir)
    put(storage_config, "games/src1/source.mp4.part", b"partial upload")
    assert detail(storage_config, "src1").source_key is None
    put(storage_config, "games/src1/source.MOV", b"mezzanine")
    assert detail(storage_config, "src1").source_key == "games/src1/source.MOV"

    upload_game(storage_config, "src2", v1_hls_dir)
    put(storage_config, "mezzanine/src2-alt.mp4", b"another game's")
    put(storage_config, "mezzanine/src2.mkv", b"mezzanine")
    assert detail(storage_config, "src2").source_key is None  # no source_prefix configured
    found = detail(storage_config, "src2", source_prefix="mezzanine/").source_key
    assert found == "mezzanine/src2.mkv"
    put(storage_config, "games/src2/source.ts", b"the game's own")
    found = detail(storage_config, "src2", source_prefix="mezzanine/").source_key
    assert found == "games/src2/source.ts"  # the game's own source comes first


def test_detail_of_a_broken_game_names_what_is_missing(
    storage_config: StorageConfig, v1_hls_dir: Path
) -> None:
    upload_game(storage_config, "holey", v1_hls_dir, skip=("seg_00002.m4s",))
    info = detail(storage_config, "holey")
    assert info.summary.state is GameState.BROKEN
    (v1,) = info.renditions
    assert v1.missing == ("games/holey/seg_00002.m4s",)


def test_detail_of_a_game_without_master(storage_config: StorageConfig, v1_hls_dir: Path) -> None:
    upload_game(storage_config, "headless", v1_hls_dir, skip=("master.m3u8",))
    info = detail(storage_config, "headless")
    assert info.master_text == ""
    (v1,) = info.renditions
    assert v1.playlist is None
    assert v1.kind == "unreadable"
    assert "missing" in v1.error


def test_detail_of_an_unknown_game_is_not_found(storage_config: StorageConfig) -> None:
    with pytest.raises(NotFound):
        detail(storage_config, "nobody")
