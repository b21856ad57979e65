"""The bucket layout of a game: every key the console reads or writes (docs/contracts.md §1.1).

One bucket, one prefix per game, ``games/{id}/``::

    games/{id}/master.m3u8             v1: the single-rendition media playlist;
                                       v1.5: the multivariant playlist listing the ladder
    games/{id}/init.mp4, seg_*.m4s     the v1 rendition's init segment and media segments
    games/{id}/master.v1.m3u8          the rollback anchor: the v1 master, byte for byte
    games/{id}/abr/{rung}/index.m3u8   one media playlist per rung of the ladder ...
    games/{id}/abr/{rung}/init.mp4     ... with its init segment and media segments
    games/{id}/abr/renditions.json     the packaging ledger (``services.abr.ledger``)
    games/{id}/meta.json               optional: title, league, date, home, away

**The source rule** (the one rule for "the game's source", the mezzanine the v1
rendition was remuxed from; spot-check measures against it, compare shows it):

1. inside the game: ``games/{id}/source.{ext}``;
2. with a profile's ``source_prefix`` (e.g. ``mezzanine/``): ``{source_prefix}{id}.{ext}``;

where ``ext`` is one of ``SOURCE_EXTENSIONS`` (compared case-insensitively: ``source.MP4``
counts). When several keys count, the game's own ``source.*`` beats the ``source_prefix``
form, then the extension earlier in ``SOURCE_EXTENSIONS`` wins. Nothing else is a source
(``source.mp4.part``, ``source/clip.mp4``, ``{id}-alt.mp4`` are not).

Keys are pure strings here; ``find_source`` is the one function that reads the store (at
most one LIST, of the ``source_prefix`` form).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.storage import Storage

GAMES_PREFIX = "games/"
MASTER = "master.m3u8"
MASTER_V1 = "master.v1.m3u8"
META = "meta.json"
ABR = "abr/"
LEDGER = "abr/renditions.json"
RUNG_PLAYLIST = "index.m3u8"
INIT_SEGMENT = "init.mp4"
SEGMENT_SUFFIX = ".m4s"
SOURCE_STEM = "source"
SOURCE_EXTENSIONS = ("mp4", "mov", "m4v", "mkv", "mxf", "ts")
"""Container extensions a source object may have, most preferred first."""


def game_id_from_prefix(prefix: str) -> str:
    """``games/{id}/`` → ``{id}`` (the common prefixes of ``LIST games/`` with ``/``)."""
    return prefix[len(GAMES_PREFIX) :].rstrip("/")


def _source_extension(name: str, stem: str) -> int | None:
    """Index in ``SOURCE_EXTENSIONS`` of ``name`` = ``{stem}.{ext}``, else None."""
    head, dot, ext = name.rpartition(".")
    if not dot or head != stem:
        return None
    try:
        return SOURCE_EXTENSIONS.index(ext.lower())
    except ValueError:
        return None


@dataclass(frozen=True)
class GameKeys:
    """Every key of game ``game_id`` (docs/contracts.md §1.1, see the module docstring).

    ``game_id`` is one path segment of the listing (``games/{id}/``); it is not checked
    here, so that a stray prefix in a bucket still gets its keys (and its BROKEN row).
    """

    game_id: str

    @property
    def prefix(self) -> str:
        """``games/{id}/``: every object of the game is under it."""
        return f"{GAMES_PREFIX}{self.game_id}/"

    @property
    def master(self) -> str:
        """``games/{id}/master.m3u8``: v1 media playlist, or v1.5 multivariant playlist."""
        return self.prefix + MASTER

    @property
    def anchor(self) -> str:
        """``games/{id}/master.v1.m3u8``: the rollback anchor (a copy of the v1 master)."""
        return self.prefix + MASTER_V1

    @property
    def meta(self) -> str:
        """``games/{id}/meta.json`` (optional game metadata)."""
        return self.prefix + META

    @property
    def ledger(self) -> str:
        """``games/{id}/abr/renditions.json``: the packaging ledger."""
        return self.prefix + LEDGER

    @property
    def abr(self) -> str:
        """``games/{id}/abr/``: the prefix of every rung (and of the ledger)."""
        return self.prefix + ABR

    @property
    def v1_init(self) -> str:
        """``games/{id}/init.mp4``: the v1 rendition's init segment."""
        return self.prefix + INIT_SEGMENT

    def rung_prefix(self, rung: str) -> str:
        """``games/{id}/abr/{rung}/``: the prefix of one rung's objects."""
        return f"{self.abr}{rung}/"

    def rung_playlist(self, rung: str) -> str:
        """``games/{id}/abr/{rung}/index.m3u8``: one rung's media playlist."""
        return self.rung_prefix(rung) + RUNG_PLAYLIST

    def relative(self, key: str) -> str:
        """``key`` without the game prefix (``abr/720p/seg_00001.m4s``); other keys as
        they are. For messages: the operator knows which game they are reading about."""
        return key[len(self.prefix) :] if key.startswith(self.prefix) else key

    def rung_name(self, key: str) -> str | None:
        """The rung a key ``games/{id}/abr/{rung}/...`` belongs to, else None (the ledger
        ``abr/renditions.json`` and keys outside the game belong to no rung)."""
        if not key.startswith(self.abr):
            return None
        rung, slash, rest = key[len(self.abr) :].partition("/")
        return rung if rung and slash and rest else None

    def is_rung_playlist(self, key: str) -> bool:
        """True for ``games/{id}/abr/{rung}/index.m3u8`` exactly (not deeper keys)."""
        rung = self.rung_name(key)
        return rung is not None and key == self.rung_playlist(rung)

    def is_v1_object(self, key: str) -> bool:
        """True for the v1 rendition's objects: ``games/{id}/init.mp4`` and
        ``games/{id}/seg_*.m4s`` (directly under the game prefix)."""
        if not key.startswith(self.prefix):
            return False
        name = key[len(self.prefix) :]
        if "/" in name:
            return False
        return name == INIT_SEGMENT or (name.startswith("seg_") and name.endswith(SEGMENT_SUFFIX))

    # --- the source rule (module docstring) ---------------------------------------------
    def source_listing_prefix(self, source_prefix: str) -> str | None:
        """The LIST prefix that finds the ``source_prefix`` form, ``{source_prefix}{id}.``;
        None when no ``source_prefix`` is configured."""
        return f"{source_prefix}{self.game_id}." if source_prefix else None

    def source_places(self, source_prefix: str = "") -> str:
        """Where a source may be, for messages: ``games/{id}/source.*`` and, with a
        ``source_prefix``, `` or {source_prefix}{id}.*``."""
        places = f"{self.prefix}{SOURCE_STEM}.*"
        return f"{places} or {source_prefix}{self.game_id}.*" if source_prefix else places

    def source_rank(self, key: str, source_prefix: str = "") -> tuple[int, int] | None:
        """Where ``key`` stands under the source rule: ``(place, extension)``, lower is
        preferred (place 0: ``games/{id}/source.{ext}``, 1: ``{source_prefix}{id}.{ext}``);
        None when ``key`` is not a source of this game."""
        if key.startswith(self.prefix):
            ext = _source_extension(key[len(self.prefix) :], SOURCE_STEM)
            if ext is not None:
                return (0, ext)
        if source_prefix and key.startswith(source_prefix):
            ext = _source_extension(key[len(source_prefix) :], self.game_id)
            if ext is not None:
                return (1, ext)
        return None

    def pick_source(self, keys: Iterable[str], source_prefix: str = "") -> str | None:
        """The game's source among ``keys`` (stored keys), by the source rule; None when
        none counts."""
        ranked = [(rank, key) for key in keys if (rank := self.source_rank(key, source_prefix))]
        return min(ranked)[1] if ranked else None


async def find_source(
    storage: Storage, keys: GameKeys, game_keys: Iterable[str], source_prefix: str = ""
) -> str | None:
    """The game's source key by the source rule (module docstring), or None.

    ``game_keys``: the keys already listed under ``keys.prefix`` (no request for them).
    With a ``source_prefix``, one ``LIST {source_prefix}{id}.`` (``Delimiter="/"``) finds
    that form, only when the game holds no ``source.*`` of its own. Raises what
    ``Storage.list_all`` raises (``AccessDenied``, ``Unreachable``).
    """
    own = keys.pick_source(game_keys)
    listing_prefix = keys.source_listing_prefix(source_prefix)
    if own is not None or listing_prefix is None:
        return own
    listing = await storage.list_all(listing_prefix, delimiter="/")
    return keys.pick_source((o.key for o in listing.objects), source_prefix)
