"""services.layout: every key of a game (docs/contracts.md §1.1) and the one source rule."""

from __future__ import annotations

import asyncio

import pytest

from services.layout import (
    GAMES_PREFIX,
    LEDGER,
    MASTER,
    MASTER_V1,
    META,
    SOURCE_EXTENSIONS,
    GameKeys,
    find_source,
    game_id_from_prefix,
)
from services.storage import ListingPage, ObjectInfo

KEYS = GameKeys("nfl-2026-09-08-kc-bal")
P = "games/nfl-2026-09-08-kc-bal/"


def test_every_key_of_a_game() -> None:
    assert KEYS.prefix == P == f"{GAMES_PREFIX}{KEYS.game_id}/"
    assert KEYS.master == P + "master.m3u8" == P + MASTER
    assert KEYS.anchor == P + "master.v1.m3u8" == P + MASTER_V1
    assert KEYS.meta == P + "meta.json" == P + META
    assert KEYS.ledger == P + "abr/renditions.json" == P + LEDGER
    assert KEYS.abr == P + "abr/"
    assert KEYS.v1_init == P + "init.mp4"
    assert KEYS.rung_prefix("720p") == P + "abr/720p/"
    assert KEYS.rung_playlist("720p") == P + "abr/720p/index.m3u8"
    assert game_id_from_prefix(P) == KEYS.game_id


def test_rung_name_and_rung_playlists() -> None:
    assert KEYS.rung_name(P + "abr/720p/index.m3u8") == "720p"
    assert KEYS.rung_name(P + "abr/360p/seg_00003.m4s") == "360p"
    assert KEYS.rung_name(P + "abr/360p/init.mp4") == "360p"
    for not_a_rung in (
        P + "abr/renditions.json",
        P + "abr/720p/",
        P + "master.m3u8",
        "games/other/abr/720p/index.m3u8",
        P + "abr//index.m3u8",
    ):
        assert KEYS.rung_name(not_a_rung) is None, not_a_rung
    assert KEYS.is_rung_playlist(P + "abr/720p/index.m3u8")
    assert not KEYS.is_rung_playlist(P + "abr/720p/seg_00001.m4s")
    assert not KEYS.is_rung_playlist(P + "abr/720p/extra/index.m3u8")
    assert not KEYS.is_rung_playlist("games/other/abr/720p/index.m3u8")


def test_v1_objects_and_relative_keys() -> None:
    assert KEYS.is_v1_object(P + "init.mp4")
    assert KEYS.is_v1_object(P + "seg_00000.m4s")
    assert not KEYS.is_v1_object(P + "abr/720p/seg_00000.m4s")
    assert not KEYS.is_v1_object(P + "master.m3u8")
    assert not KEYS.is_v1_object("games/other/init.mp4")
    assert KEYS.relative(P + "abr/720p/seg_00001.m4s") == "abr/720p/seg_00001.m4s"
    assert KEYS.relative("mezzanine/x.mp4") == "mezzanine/x.mp4"


def test_the_source_rule_inside_the_game() -> None:
    assert SOURCE_EXTENSIONS[0] == "mp4"
    stored = [P + "source.mov", P + "source.mp4", P + "master.m3u8"]
    assert KEYS.pick_source(stored) == P + "source.mp4"  # earlier extension wins
    assert KEYS.pick_source([P + "source.MOV"]) == P + "source.MOV"  # case-insensitive
    for name in (
        "source.mp4.part",
        "source/clip.mp4",
        "source",
        "Source.mp4",
        "src.mp4",
        "source.avi",
        "abr/source.mp4",
    ):
        assert KEYS.pick_source([P + name]) is None, name
    assert KEYS.pick_source([]) is None


def test_the_source_rule_with_a_source_prefix() -> None:
    gid = KEYS.game_id
    assert KEYS.source_listing_prefix("") is None
    assert KEYS.source_listing_prefix("mezzanine/") == f"mezzanine/{gid}."
    stored = [
        f"mezzanine/{gid}.mkv",
        f"mezzanine/{gid}.mp4",
        f"mezzanine/{gid}-alt.mp4",
        f"mezzanine/{gid}.mp4.bak",
    ]
    assert KEYS.pick_source(stored, "mezzanine/") == f"mezzanine/{gid}.mp4"
    assert KEYS.pick_source(stored) is None  # without the prefix that form does not count
    # the game's own source beats the profile's form, whatever the extension
    assert KEYS.pick_source([*stored, P + "source.ts"], "mezzanine/") == P + "source.ts"
    assert KEYS.source_rank(P + "source.ts", "mezzanine/") == (0, SOURCE_EXTENSIONS.index("ts"))
    assert KEYS.source_rank(f"mezzanine/{gid}.mp4", "mezzanine/") == (1, 0)
    assert KEYS.source_places() == f"{P}source.*"
    assert KEYS.source_places("mezzanine/") == f"{P}source.* or mezzanine/{gid}.*"


class _ListingStore:
    """The one Storage call ``find_source`` makes, recorded."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = keys
        self.calls: list[tuple[str, str | None]] = []

    async def list_all(self, prefix: str, *, delimiter: str | None = None) -> ListingPage:
        self.calls.append((prefix, delimiter))
        objects = tuple(ObjectInfo(k, 1, "e", None) for k in self.keys if k.startswith(prefix))
        return ListingPage((), objects, None)


@pytest.mark.parametrize(
    ("game_keys", "prefix", "expected", "lists"),
    [
        ([P + "source.mov"], "mezzanine/", P + "source.mov", False),  # own source: no LIST
        ([P + "master.m3u8"], "", None, False),  # no prefix: nothing to list
        ([P + "master.m3u8"], "mezzanine/", f"mezzanine/{KEYS.game_id}.mov", True),
    ],
)
def test_find_source_lists_the_prefix_form_once_and_only_when_needed(
    game_keys: list[str], prefix: str, expected: str | None, lists: bool
) -> None:
    store = _ListingStore([f"mezzanine/{KEYS.game_id}.mov", f"mezzanine/{KEYS.game_id}x.mp4"])
    found = asyncio.run(find_source(store, KEYS, game_keys, prefix))  # type: ignore[arg-type]
    assert found == expected
    assert store.calls == ([(f"mezzanine/{KEYS.game_id}.", "/")] if lists else [])
