"""The game catalog: listing games, their backfill state, and one game's detail.

Listing (``iter_game_pages``) is the bare ``ListObjectsV2(Prefix="games/", Delimiter="/")``
pagination: one request per 1,000 games, no per-game request, pages yielded as they arrive.

State (``probe``) costs one LIST and one GET per game, never a read of every object:
- ``LIST games/{id}/`` with ``Delimiter="/"`` gives the top-level keys with their ETags
  (``master.m3u8``, ``master.v1.m3u8``, ``meta.json``, v1 ``init.mp4``/``seg_*``) and
  whether an ``abr/`` sub-prefix exists;
- ``GET master.m3u8`` says media or multivariant, and which v1 objects it references.
``meta.json`` (optional, a few hundred bytes) is read too when listed. The rules, from
docs/contracts.md §1.1:

========== ==============================================================================
v1         master is a media playlist, every object it references is listed, no ``abr/``
partial    master is still the v1 media playlist but ``abr/`` exists (interrupted backfill),
           or ``master.v1.m3u8`` exists with the same ETag as ``master.m3u8``
v1.5       master is multivariant and ``master.v1.m3u8`` (the rollback anchor) exists
broken     master missing or malformed, a referenced v1 object missing, a multivariant
           master without its anchor, or an anchor that differs from the v1 media master
========== ==============================================================================
Deep checks (checksums against the ledger, every rung object) belong to spot-check jobs.

Store faults (docs/platform.md "Store faults"): botocore retries each request; a page that
still fails ends ``list_games`` with the error, saying how many games were listed before
(never a partial list returned as whole); a probe that still fails gives a ``broken`` row
whose reason starts "state not read:" and says why (``probe_or_error``).
Every key comes from ``services.layout`` (the bucket layout); the ledger is read as a typed
``services.abr.ledger.LedgerDocument``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from services.abr.ledger import LedgerDocument, LedgerError
from services.errors import NotFound, PlaylistError, ServiceError
from services.hls import (
    MediaPlaylist,
    MultivariantPlaylist,
    parse_playlist,
    referenced_keys,
    resolve_key,
)
from services.layout import GAMES_PREFIX, GameKeys, find_source, game_id_from_prefix
from services.storage import ObjectInfo, Storage


class GameState(StrEnum):
    """Backfill state of a game (docs/contracts.md §1.1)."""

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
        """``games/{id}/`` (``services.layout.GameKeys``)."""
        return GameKeys(self.id).prefix

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
    v1, then rungs), every object under the game prefix, the master playlist text, the
    ledger (``abr/renditions.json``) and the game's source object.

    ``ledger`` is the parsed ledger, None when there is none or it is unreadable; then
    ``ledger_problem`` says why it is unreadable (the ``LedgerError`` sentence, "" when
    absent or fine). ``source_key`` is the game's source by the layout's source rule
    (``services.layout``), None when it has none.
    """

    summary: GameSummary
    renditions: tuple[Rendition, ...]
    objects: tuple[ObjectInfo, ...]
    master_text: str
    ledger: LedgerDocument | None
    ledger_problem: str = ""
    source_key: str | None = None

    def object(self, key: str) -> ObjectInfo | None:
        return next((o for o in self.objects if o.key == key), None)


class CatalogService:
    """Lists games and derives their state from the store (see the module docstring).

    ``source_prefix``: the profile's prefix of the ``{source_prefix}{id}.{ext}`` source
    form (``services.layout``); "" when sources only live inside the games. ``page_size``:
    games per listing page (ListObjectsV2 ``MaxKeys``, at most 1,000).
    """

    def __init__(
        self,
        storage: Storage,
        *,
        probe_concurrency: int = 8,
        source_prefix: str = "",
        page_size: int = 1000,
    ) -> None:
        self.storage = storage
        self.source_prefix = source_prefix
        self.page_size = page_size
        self._probe_concurrency = probe_concurrency
        self._probe_slots: asyncio.Semaphore | None = None
        self._slots_loop: asyncio.AbstractEventLoop | None = None

    async def iter_game_pages(self, page_size: int | None = None) -> AsyncIterator[list[str]]:
        """Yield lists of game ids, one per ListObjectsV2 page (``page_size`` games, default
        the service's), as pages arrive. A page that fails after botocore's retries raises
        its error (``Unreachable``, ``AccessDenied``, ``ServiceError``...) and ends the
        iteration: the pages yielded before are not the whole catalog."""
        size = page_size or self.page_size
        async for page in self.storage.iter_pages(GAMES_PREFIX, max_keys=size):
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
        keys = GameKeys(game_id)
        listing = await self.storage.list_all(keys.prefix, delimiter="/")
        top = {o.key: o for o in listing.objects}
        has_abr = keys.abr in listing.prefixes
        summary = GameSummary(id=game_id, title=game_id)
        if keys.meta in top:
            summary = await self._with_meta(summary, keys.meta)
        state, reason = await self._state(keys, top, has_abr)
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
        self, keys: GameKeys, top: dict[str, ObjectInfo], has_abr: bool
    ) -> tuple[GameState, str]:
        master_key = keys.master
        if master_key not in top:
            return GameState.BROKEN, "master.m3u8 is missing"
        try:
            body = await self.storage.get(master_key, max_bytes=8 * 1024 * 1024)
            master = parse_playlist(body.data, master_key)
        except NotFound:
            return GameState.BROKEN, "master.m3u8 disappeared while reading"
        except PlaylistError as exc:
            return GameState.BROKEN, f"master.m3u8 is malformed: {exc.reason}"
        anchor = top.get(keys.anchor)
        if isinstance(master, MultivariantPlaylist):
            if anchor is None:
                return GameState.BROKEN, "multivariant master without master.v1.m3u8"
            if not has_abr:
                return GameState.BROKEN, "multivariant master but no abr/ rung objects"
            return GameState.V15, f"{len(master.variants)} rungs + v1 anchor"
        missing = [k for k in referenced_keys(master_key, master) if k not in top]
        if missing:
            names = ", ".join(keys.relative(k) for k in missing[:3])
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
        (case-insensitive). ``on_page`` is called with each probed page in order.

        Raises the listing's error when a page fails after botocore's retries; its message
        then says how many games were listed before, so a partial list is never taken for
        the whole (``on_page`` may have shown those games already)."""
        games: list[GameSummary] = []
        listed = 0
        try:
            async for ids in self.iter_game_pages():
                listed += len(ids)
                page = list(await asyncio.gather(*(self.probe_or_error(i) for i in ids)))
                if league:
                    page = [g for g in page if g.league.lower() == league.lower()]
                if on_page:
                    on_page(page)
                games.extend(page)
        except ServiceError as exc:
            if not listed:
                raise
            raise incomplete_listing(exc, listed) from exc
        return games

    async def probe_or_error(self, game_id: str) -> GameSummary:
        """``probe`` that turns a per-game service error (after botocore's retries) into a
        BROKEN row whose reason is "state not read: " and the error (a listing never dies
        on one bad game, and no row is left without a state)."""
        try:
            return await self.probe(game_id)
        except ServiceError as exc:
            return unread_summary(game_id, str(exc))

    async def detail(self, game_id: str) -> GameDetail:
        """Renditions, objects and playlists of one game (reads every playlist, not
        segments), its ledger and its source key (one more LIST with a ``source_prefix``,
        only when the game holds no ``source.*`` of its own).

        Raises ``NotFound`` when the game has no objects; storage errors propagate. A
        malformed ledger is not an error: ``GameDetail.ledger_problem`` says what is wrong.
        """
        summary = await self._probe_now(game_id)
        keys = GameKeys(game_id)
        listing = await self.storage.list_all(keys.prefix, delimiter=None)
        if not listing.objects:
            raise NotFound(f"Game {game_id} has no objects under {keys.prefix}.", keys.prefix)
        present = {o.key for o in listing.objects}
        master_text = ""
        renditions: list[Rendition] = []
        master = await self._rendition("ABR (multivariant)", keys.master, present)
        if keys.master in present:
            master_text = (await self.storage.get(keys.master)).data.decode("utf-8", "replace")
        if isinstance(master.playlist, MultivariantPlaylist):
            renditions.append(master)
            renditions.append(await self._rendition("v1", keys.anchor, present))
            for variant in master.playlist.variants:
                key = resolve_key(keys.master, variant.uri)
                if key:
                    rung = await self._rendition(_rung_label(keys, key), key, present)
                    renditions.append(
                        replace(rung, bandwidth=variant.bandwidth, resolution=variant.resolution)
                    )
        else:
            renditions.append(replace(master, name="v1"))
            for key in sorted(k for k in present if keys.is_rung_playlist(k)):
                renditions.append(await self._rendition(_rung_label(keys, key), key, present))
        ledger, problem = await self._ledger(keys, present)
        source_key = await find_source(self.storage, keys, present, self.source_prefix)
        return GameDetail(
            summary, tuple(renditions), listing.objects, master_text, ledger, problem, source_key
        )

    async def _ledger(self, keys: GameKeys, present: set[str]) -> tuple[LedgerDocument | None, str]:
        """``(ledger, "")`` when stored and readable; ``(None, the LedgerError sentence)``
        when unreadable; ``(None, "")`` when there is none."""
        if keys.ledger not in present:
            return None, ""
        try:
            body = await self.storage.get(keys.ledger)
            return LedgerDocument.from_bytes(body.data, keys.ledger), ""
        except NotFound:
            return None, ""
        except LedgerError as exc:
            return None, str(exc)

    async def _rendition(self, name: str, key: str, present: set[str]) -> Rendition:
        if key not in present:
            return Rendition(name, key, None, error=f"{key} is missing")
        try:
            playlist = parse_playlist((await self.storage.get(key)).data, key)
        except PlaylistError as exc:
            return Rendition(name, key, None, error=str(exc))
        missing = tuple(k for k in referenced_keys(key, playlist) if k not in present)
        return Rendition(name, key, playlist, missing=missing)


def unread_summary(game_id: str, why: str) -> GameSummary:
    """The row of a game whose state could not be read: BROKEN (it cannot be shown
    playable), reason ``"state not read: {why}"`` so the operator sees it is not a finding
    about the game and that Refresh reads it again."""
    return GameSummary(
        id=game_id, title=game_id, state=GameState.BROKEN, reason=f"state not read: {why}"
    )


def incomplete_listing(exc: ServiceError, listed: int) -> ServiceError:
    """``exc`` said again with how many games were listed before it stopped the listing
    (same type when it can be rebuilt from a message, else ``ServiceError``)."""
    message = f"The catalog listing stopped after {listed} games, the list is incomplete: {exc}"
    try:
        return type(exc)(message)
    except TypeError:
        return ServiceError(message)


def _rung_label(keys: GameKeys, key: str) -> str:
    """A rendition's name for a rung playlist key: the rung, or the key relative to the
    game when a multivariant playlist lists something outside ``abr/{rung}/``."""
    return keys.rung_name(key) or keys.relative(key)
