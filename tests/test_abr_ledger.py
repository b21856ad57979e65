"""services.abr: the packaging ledger (typed reader/writer, a malformed ledger is a
``LedgerError``, never a KeyError/TypeError) and the multivariant playlist of a ladder."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import pytest

from services.abr.ledger import LedgerDocument, LedgerError, LedgerObject, PackagedRendition
from services.abr.multivariant import measure_bandwidth, multivariant_text, variants_by_playlist
from services.errors import MediaError
from services.hls import MultivariantPlaylist, parse_playlist
from services.layout import GameKeys

KEYS = GameKeys("g1")
SHA = "ab" * 32


def _row(rung: str, width: int, height: int, bandwidth: int) -> PackagedRendition:
    prefix = KEYS.rung_prefix(rung)
    return PackagedRendition(
        game_id="g1",
        rung=rung,
        ladder_name="abr",
        ladder_version=1,
        encoder_settings={"preset": "veryfast", "segment_seconds": 4},
        ffmpeg_version="ffmpeg version 7.1",
        source_key=KEYS.master,
        source_sha256=SHA,
        created_at="2026-01-02T03:04:05Z",
        job_id="job1",
        playlist=KEYS.rung_playlist(rung),
        width=width,
        height=height,
        frame_rate=24.0,
        codecs="avc1.64001f,mp4a.40.2",
        bandwidth=bandwidth,
        average_bandwidth=bandwidth * 9 // 10,
        objects=(
            LedgerObject(prefix + "init.mp4", 800, SHA),
            LedgerObject(prefix + "seg_00000.m4s", 120_000, "cd" * 32),
            LedgerObject(prefix + "index.m3u8", 200, "ef" * 32),
        ),
    )


LEDGER = LedgerDocument(
    game_id="g1",
    job_id="job1",
    created_at="2026-01-02T03:04:05Z",
    ladder_name="abr",
    ladder_version=1,
    renditions=(_row("720p", 1280, 720, 3_000_000), _row("360p", 640, 360, 800_000)),
    skipped=(("1080p", "taller than the source (720 px): no upscaling"),),
)


def _document() -> dict[str, Any]:
    return json.loads(LEDGER.to_bytes())


def _read(document: object) -> LedgerDocument:
    return LedgerDocument.from_bytes(json.dumps(document).encode(), KEYS.ledger)


def test_the_ledger_round_trips_byte_for_byte() -> None:
    data = LEDGER.to_bytes()
    assert data == LEDGER.to_text().encode() and data.endswith(b"}\n")
    back = LedgerDocument.from_bytes(data, KEYS.ledger)
    assert back == LEDGER
    assert back.to_bytes() == data
    assert json.loads(data)["schema_version"] == 1


def test_typed_views_of_the_ledger() -> None:
    assert LEDGER.rungs == ["720p", "360p"]
    assert [o.key for o in LEDGER.objects][:2] == [
        "games/g1/abr/720p/init.mp4",
        "games/g1/abr/720p/seg_00000.m4s",
    ]
    assert len(LEDGER.objects) == 6
    assert LEDGER.row("360p") is LEDGER.renditions[1] and LEDGER.row("1080p") is None
    assert LEDGER.frame_rate == 24.0
    assert replace(LEDGER, renditions=()).frame_rate is None
    row = _document()["renditions"][0]
    assert row["objects"][0] == {"key": "games/g1/abr/720p/init.mp4", "size": 800, "sha256": SHA}
    assert row["source"] == {"key": "games/g1/master.m3u8", "sha256": SHA}
    assert row["ladder"] == {"name": "abr", "version": 1}


def _without(path: tuple[Any, ...]) -> dict[str, Any]:
    document = _document()
    target = document
    for step in path[:-1]:
        target = target[step]
    del target[path[-1]]
    return document


def _with(path: tuple[Any, ...], value: object) -> dict[str, Any]:
    document = _document()
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return document


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ([{"game_id": "g1", "rung": "720p", "objects": []}], "the document: expected an object"),
        (_with(("schema_version",), 2), "schema_version 2, expected 1"),
        (_without(("schema_version",)), "schema_version None"),
        (_without(("game_id",)), "game_id: missing"),
        (_with(("ladder",), "abr"), "ladder: expected an object, got a string"),
        (_with(("ladder", "version"), "1"), "ladder.version: expected a non-negative integer"),
        (_with(("renditions",), {}), "renditions: expected a list, got an object"),
        (_with(("renditions", 0), None), "renditions[0]: expected an object, got null"),
        (_without(("renditions", 1, "playlist")), "renditions[1].playlist: missing"),
        (_with(("renditions", 0, "width"), 12.5), "renditions[0].width: expected a non-negative"),
        (_with(("renditions", 0, "bandwidth"), True), "renditions[0].bandwidth: expected"),
        (_with(("renditions", 0, "frame_rate"), "24"), "renditions[0].frame_rate: expected a num"),
        (_with(("renditions", 0, "source"), None), "renditions[0].source: expected an object"),
        (_with(("renditions", 0, "source", "sha256"), "nope"), "source.sha256: expected a SHA-256"),
        (_with(("renditions", 0, "encoder_settings"), []), "encoder_settings: expected an object"),
        (_with(("renditions", 0, "objects"), None), "renditions[0].objects: expected a list"),
        (_with(("renditions", 0, "objects", 1), "k"), "renditions[0].objects[1]: expected an obj"),
        (_without(("renditions", 0, "objects", 2, "size")), "renditions[0].objects[2].size: miss"),
        (_with(("renditions", 1, "objects", 0, "size"), -1), "renditions[1].objects[0].size: exp"),
        (_with(("renditions", 1, "rung"), "720p"), "rung '720p' is recorded twice"),
        (_with(("skipped", 0), ["1080p", "why"]), "skipped[0]: expected an object, got a list"),
        (_without(("skipped", 0, "reason")), "skipped[0].reason: missing"),
    ],
)
def test_a_malformed_ledger_is_a_ledger_error_naming_the_field(
    document: object, reason: str
) -> None:
    with pytest.raises(LedgerError) as caught:
        _read(document)
    error = caught.value
    assert isinstance(error, MediaError)  # describe() gives the operator a sentence
    assert error.key == KEYS.ledger
    assert reason in error.reason, error.reason
    assert str(error).startswith("games/g1/abr/renditions.json is not a readable packaging ledger")


@pytest.mark.parametrize("data", [b"", b"{not json", b"\xff\xfe\x00", b"null", b"[]", b"42"])
def test_unreadable_bytes_are_a_ledger_error(data: bytes) -> None:
    with pytest.raises(LedgerError, match="games/g1/abr/renditions.json"):
        LedgerDocument.from_bytes(data, KEYS.ledger)


def test_one_row_is_read_with_the_same_typed_errors() -> None:
    row = _document()["renditions"][0]
    assert PackagedRendition.from_json(row) == LEDGER.renditions[0]
    broken = copy.deepcopy(row)
    broken["objects"][0]["sha256"] = 7
    with pytest.raises(LedgerError, match=r"row\.objects\[0\]\.sha256: expected a string"):
        PackagedRendition.from_json(broken, key=KEYS.ledger)


def test_the_multivariant_playlist_of_the_ledger_and_its_variants() -> None:
    text = multivariant_text(reversed(LEDGER.renditions), KEYS.prefix)  # type: ignore[arg-type]
    assert text == multivariant_text(LEDGER.renditions, KEYS.prefix)  # highest BANDWIDTH first
    master = parse_playlist(text, KEYS.master)
    assert isinstance(master, MultivariantPlaylist)
    assert [v.uri for v in master.variants] == ["abr/720p/index.m3u8", "abr/360p/index.m3u8"]
    by_key = variants_by_playlist(KEYS.master, master)
    assert {k: v.bandwidth for k, v in by_key.items()} == {
        r.playlist: r.bandwidth for r in LEDGER.renditions
    }
    with pytest.raises(MediaError, match="outside games/other/"):
        multivariant_text(LEDGER.renditions, "games/other/")
    assert measure_bandwidth([(1000, 2.0), (3000, 2.0)]) == (12000, 8000)
