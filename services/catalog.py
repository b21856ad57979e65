"""The game catalog: listing games, their backfill state, and one game's detail.

Listing (``iter_game_pages``) is the bare ``ListObjectsV2(Prefix="games/", Delimiter="/")``
pagination: one request per 1,000 games, no per-game request, pages yielded as they arrive.

State (``probe``) costs one LIST and one GET per game, never a read of every object:
- ``LIST games/{id}/`` with ``Delimiter="/"`` gives the top-level keys with their ETags
  (``master.m3u8``, ``master.v1.m3u8``, ``meta.json``, v1 ``init.mp4``/``seg_*``) and
  whether an ``abr/`` sub-prefix exists;
- ``GET master.m3u8`` says media or multivariant, and which v1 objects it references.
``meta.json`` (optional, a few hundred bytes) is read too when listed. The rules, from
DESIGN.md §1.1:

========== ==============================================================================
v1         master is a media playlist, every object it references is listed, no ``abr/``
partial    master is still the v1 media playlist but ``abr/`` exists (interrupted backfill),
           or ``master.v1.m3u8`` exists with the same ETag as ``master.m3u8``
v1.5       master is multivariant and ``master.v1.m3u8`` (the rollback anchor) exists
broken     master missing or malformed, a referenced v1 object missing, a multivariant
           master without its anchor, or an anchor that differs from the v1 media master
========== ==============================================================================
Deep checks (checksums against the ledger, every rung object) belong to spot-check jobs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from services.errors import NotFound, PlaylistError, ServiceError
from services.hls import (
    MediaPlaylist,
    MultivariantPlaylist,
    parse_playlist,
    referenced_keys,
    resolve_key,
)
from services.storage import ObjectInfo, Storage

GAMES_PREFIX = "games/"
MASTER = "master.m3u8"
MASTER_V1 = "master.v1.m3u8"
META = "meta.json"
LEDGER = "abr/renditions.json"


class GameState(StrEnum):
    """Backfill state of a game (DESIGN.md §1.1)."""

    V1 = "v1"
    PARTIAL = "partial"
    V15 = "v1.5"
    BROKEN = "broken"


@dataclass(frozen=True)
class GameSummary:
    """One catalog row. ``state`` is None until probed; ``reason`` explains the state."""

    id: str
    title: str = ""
    league: str = ""
    date: str = ""
    home: str = ""
    away: str = ""
    state: GameState | None = None
    reason: str = ""

    @property
    def prefix(self) -> str:
        return f"{GAMES_PREFIX}{self.id}/"

    def as_json(self) -> dict[str, str | None]:
        """The CLI's ``catalog list --json`` row: id, league, title, date, state, reason."""
        return {
            "id": self.id,
            "league": self.league,
            "title": self.title,
            "date": self.date,
            "home": self.home,
            "away": self.away,
            "state": self.state.value if self.state else None,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Rendition:
    """A playable rendition of a game.

    ``name``: "ABR (multivariant)", "v1", or a rung name ("720p"). ``playlist_key`` is the
    bucket key of its playlist; ``playlist`` the parsed playlist (None when it could not be
    read, then ``error`` says why). ``missing`` lists referenced keys absent from the store.
    ``bandwidth`` in bits/s and ``resolution`` (w, h) come from the multivariant entry.
    """

    name: str
    playlist_key: str
    playlist: MediaPlaylist | MultivariantPlaylist | None
    error: str = ""
    missing: tuple[str, ...] = ()
    bandwidth: int | None = None
    resolution: tuple[int, int] | None = None

    @property
    def kind(self) -> str:
        return self.playlist.kind if self.playlist else "unreadable"


@dataclass(frozen=True)
class GameDetail:
    """Everything the detail panel shows: the summary, renditions (ABR master first, then
    v1, then rungs), every object under the game prefix, the master playlist text and the
    ledger (``renditions.json``) when present."""

    summary: GameSummary
    renditions: tuple[Rendition, ...]
    objects: tuple[ObjectInfo, ...]
    master_text: str
    ledger: object | None

    def object(self, key: str) -> ObjectInfo | None:
        return next((o for o in self.objects if o.key == key), None)


def game_id_from_prefix(prefix: str) -> str:
    """``games/{id}/`` → ``{id}``."""
    return prefix[len(GAMES_PREFIX) :].rstrip("/")


class CatalogService:
    """Lists games and derives their state from the store (see the module docstring)."""

    def __init__(self, storage: Storage, *, probe_concurrency: int = 8) -> None:
        self.storage = storage
        self._probe_concurrency = probe_concurrency
        self._probe_slots: asyncio.Semaphore | None = None
        self._slots_loop: asyncio.AbstractEventLoop | None = None

    async def iter_game_pages(self, page_size: int = 1000) -> AsyncIterator[list[str]]:
        """Yield lists of game ids, one per ListObjectsV2 page, as pages arrive."""
        async for page in self.storage.iter_pages(GAMES_PREFIX, max_keys=page_size):
            ids = [game_id_from_prefix(p) for p in page.prefixes]
            if ids:
                yield ids

    def _slots(self) -> asyncio.Semaphore:
        """The probe semaphore of the running loop (a service may outlive one loop)."""
        loop = asyncio.get_running_loop()
        if self._probe_slots is None or self._slots_loop is not loop:
            self._probe_slots = asyncio.Semaphore(self._probe_concurrency)
            self._slots_loop = loop
        return self._probe_slots

    async def probe(self, game_id: str) -> GameSummary:
        """Meta and state of one game (one LIST + GET master + GET meta.json if listed),
        at most ``probe_concurrency`` at a time.

        Storage errors other than a missing master propagate (``AccessDenied``,
        ``Unreachable``...): they say nothing about the game itself.
        """
        async with self._slots():
            return await self._probe_now(game_id)

    async def _probe_now(self, game_id: str) -> GameSummary:
        """``probe`` without waiting for a slot (a detail the operator asked for must not
        queue behind thousands of background probes)."""
        prefix = f"{GAMES_PREFIX}{game_id}/"
        listing = await self.storage.list_all(prefix, delimiter="/")
        top = {o.key: o for o in listing.objects}
        has_abr = f"{prefix}abr/" in listing.prefixes
        summary = GameSummary(id=game_id, title=game_id)
        if prefix + META in top:
            summary = await self._with_meta(summary, prefix + META)
        state, reason = await self._state(prefix, top, has_abr)
        return replace(summary, state=state, reason=reason)

    async def _with_meta(self, summary: GameSummary, key: str) -> GameSummary:
        try:
            meta = json.loads((await self.storage.get(key, max_bytes=64 * 1024)).data)
        except (NotFound, ValueError):
            return summary
        if not isinstance(meta, dict):
            return summary
        fields = {f: str(meta.get(f) or "") for f in ("title", "league", "date", "home", "away")}
        fields["title"] = fields["title"] or summary.id
        return replace(summary, **fields)

    async def _state(
        self, prefix: str, top: dict[str, ObjectInfo], has_abr: bool
    ) -> tuple[GameState, str]:
        master_key = prefix + MASTER
        if master_key not in top:
            return GameState.BROKEN, "master.m3u8 is missing"
        try:
            body = await self.storage.get(master_key, max_bytes=8 * 1024 * 1024)
            master = parse_playlist(body.data, master_key)
        except NotFound:
            return GameState.BROKEN, "master.m3u8 disappeared while reading"
        except PlaylistError as exc:
            return GameState.BROKEN, f"master.m3u8 is malformed: {exc.reason}"
        anchor = top.get(prefix + MASTER_V1)
        if isinstance(master, MultivariantPlaylist):
            if anchor is None:
                return GameState.BROKEN, "multivariant master without master.v1.m3u8"
            if not has_abr:
                return GameState.BROKEN, "multivariant master but no abr/ rung objects"
            return GameState.V15, f"{len(master.variants)} rungs + v1 anchor"
        missing = [k for k in referenced_keys(master_key, master) if k not in top]
        if missing:
            names = ", ".join(k[len(prefix) :] for k in missing[:3])
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            return GameState.BROKEN, f"v1 object missing: {names}{more}"
        if anchor is not None and anchor.etag != top[master_key].etag:
            return GameState.BROKEN, "master.v1.m3u8 differs from the v1 media playlist"
        if has_abr or anchor is not None:
            return GameState.PARTIAL, "rung objects present, master still v1 (interrupted backfill)"
        return GameState.V1, f"{len(master.segments)} segments, {master.duration:.1f} s"

    async def list_games(
        self,
        *,
        league: str | None = None,
        on_page: Callable[[list[GameSummary]], None] | None = None,
    ) -> list[GameSummary]:
        """Every game, probed (bounded concurrency), optionally only one ``league``
        (case-insensitive). ``on_page`` is called with each probed page in order."""
        games: list[GameSummary] = []
        async for ids in self.iter_game_pages():
            page = list(await asyncio.gather(*(self.probe_or_error(i) for i in ids)))
            if league:
                page = [g for g in page if g.league.lower() == league.lower()]
            if on_page:
                on_page(page)
            games.extend(page)
        return games

    async def probe_or_error(self, game_id: str) -> GameSummary:
        """``probe`` that turns a per-game service error into a BROKEN row with its reason
        (a listing never dies on one bad game)."""
        try:
            return await self.probe(game_id)
        except ServiceError as exc:
            return GameSummary(id=game_id, title=game_id, state=GameState.BROKEN, reason=str(exc))

    async def detail(self, game_id: str) -> GameDetail:
        """Renditions, objects and playlists of one game (reads every playlist, not segments).

        Raises ``NotFound`` when the game has no objects; storage errors propagate.
        """
        summary = await self._probe_now(game_id)
        prefix = summary.prefix
        listing = await self.storage.list_all(prefix, delimiter=None)
        if not listing.objects:
            raise NotFound(f"Game {game_id} has no objects under {prefix}.", prefix)
        present = {o.key for o in listing.objects}
        master_text = ""
        renditions: list[Rendition] = []
        master = await self._rendition("ABR (multivariant)", prefix + MASTER, present)
        if prefix + MASTER in present:
            master_text = (await self.storage.get(prefix + MASTER)).data.decode("utf-8", "replace")
        if isinstance(master.playlist, MultivariantPlaylist):
            renditions.append(master)
            renditions.append(await self._rendition("v1", prefix + MASTER_V1, present))
            for variant in master.playlist.variants:
                key = resolve_key(prefix + MASTER, variant.uri)
                if key:
                    rung = await self._rendition(_rung_name(prefix, key), key, present)
                    renditions.append(
                        replace(rung, bandwidth=variant.bandwidth, resolution=variant.resolution)
                    )
        else:
            renditions.append(replace(master, name="v1"))
            for key in sorted(k for k in present if _is_rung_playlist(prefix, k)):
                renditions.append(await self._rendition(_rung_name(prefix, key), key, present))
        ledger = None
        if prefix + LEDGER in present:
            try:
                ledger = json.loads((await self.storage.get(prefix + LEDGER)).data)
            except ValueError:
                ledger = None
        return GameDetail(summary, tuple(renditions), listing.objects, master_text, ledger)

    async def _rendition(self, name: str, key: str, present: set[str]) -> Rendition:
        if key not in present:
            return Rendition(name, key, None, error=f"{key} is missing")
        try:
            playlist = parse_playlist((await self.storage.get(key)).data, key)
        except PlaylistError as exc:
            return Rendition(name, key, None, error=str(exc))
        missing = tuple(k for k in referenced_keys(key, playlist) if k not in present)
        return Rendition(name, key, playlist, missing=missing)


def _is_rung_playlist(prefix: str, key: str) -> bool:
    rest = key[len(prefix) :]
    parts = rest.split("/")
    return len(parts) == 3 and parts[0] == "abr" and parts[2] == "index.m3u8"


def _rung_name(prefix: str, key: str) -> str:
    parts = key[len(prefix) :].split("/")
    return parts[1] if len(parts) >= 3 and parts[0] == "abr" else key[len(prefix) :]


def filter_games(
    games: Iterable[GameSummary], text: str = "", league: str | None = None
) -> list[GameSummary]:
    """Games whose id/title/teams contain ``text`` (case-insensitive) in ``league``."""
    needle = text.strip().lower()
    out = []
    for game in games:
        if league and game.league.lower() != league.lower():
            continue
        hay = " ".join((game.id, game.title, game.home, game.away, game.league)).lower()
        if needle in hay:
            out.append(game)
    return out
