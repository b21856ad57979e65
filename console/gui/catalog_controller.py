"""Qt-facing controller of the catalog: runs the async catalog service on the qasync loop
and re-emits results as typed signals the views connect to (views do no I/O).

Every listed game gets a state, whatever fails: a probe the store keeps failing (after
botocore's retries) is a ``broken`` row saying "state not read: …" (``probe_or_error``), a
probe that raises anything else (a bug) is such a row too and reaches the log; a listing
page that fails still lets the games already listed be probed, then says the list is
incomplete. No row is left at "…"."""

from __future__ import annotations

import asyncio
import logging
import time

from PySide6.QtCore import QObject, Signal

from console.context import AppContext
from console.gui.operation import Operations
from services.catalog import (
    GameDetail,
    GameSummary,
    Rendition,
    incomplete_listing,
    unread_summary,
)
from services.errors import ServiceError, describe
from services.hls import MediaPlaylist
from services.playback import PlaybackSource, source_for_playlist

log = logging.getLogger(__name__)

#: concurrent per-game state probes (one LIST + one GET each)
PROBE_WORKERS = 8
#: how often probe results reach the views, in seconds
FLUSH_INTERVAL_S = 0.25


class CatalogController(QObject):
    """Lists games page by page, probes their state in the background, loads details.

    Signals (all emitted on the GUI thread):
    - ``games_added(list[GameSummary])``: a listing page, states not yet probed;
    - ``games_probed(list[GameSummary])``: a batch of games whose meta and state are known;
    - ``game_probed(GameSummary)``: one game re-read (after a detail load or a job);
    - ``listing_finished(int, float)``: game count and wall time in seconds;
    - ``detail_loaded(GameDetail)``; ``error(str)``: a readable sentence;
    - ``status(str)``: progress text for the status bar.
    """

    listing_started = Signal()
    games_added = Signal(list)
    games_probed = Signal(list)
    game_probed = Signal(object)
    listing_finished = Signal(int, float)
    detail_loaded = Signal(object)
    error = Signal(str)
    status = Signal(str)

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self._listing: asyncio.Task | None = None
        self._ops = Operations(self.error.emit)

    def refresh(self) -> None:
        """(Re)list the catalog; a listing in progress is cancelled first."""
        if self._listing and not self._listing.done():
            self._listing.cancel()
        self._listing = self._ops.run(self._list(), what="Listing the catalog")

    async def _list(self) -> None:
        started = time.perf_counter()
        self.listing_started.emit()
        count = 0
        queue: asyncio.Queue[str] = asyncio.Queue()
        probed: list[GameSummary] = []
        run = self._ops.run
        helpers = [run(self._probe_worker(queue, probed)) for _ in range(PROBE_WORKERS)]
        helpers.append(run(self._flush_probed(probed, lambda: count)))
        failure: ServiceError | None = None
        try:
            try:
                async for ids in self.context.catalog.iter_game_pages():
                    count += len(ids)
                    self.games_added.emit([GameSummary(id=i, title=i) for i in ids])
                    self.status.emit(f"Listing… {count} games")
                    for game_id in ids:
                        queue.put_nowait(game_id)
            except ServiceError as exc:  # the games listed so far still get their state
                failure = exc
                self.status.emit(f"Listing stopped after {count} games; reading their states…")
            else:
                self.listing_finished.emit(count, time.perf_counter() - started)
            await queue.join()
            self._emit_probed(probed)
            if failure is not None:
                self.status.emit(f"Listing stopped after {count} games: the list is incomplete")
                if not count:
                    raise failure
                raise incomplete_listing(failure, count) from failure
            self.status.emit(f"{count} games")
        finally:
            for helper in helpers:
                helper.cancel()

    async def _probe_worker(self, queue: asyncio.Queue[str], probed: list[GameSummary]) -> None:
        """One of ``PROBE_WORKERS`` coroutines: a bounded pool, not a task per game."""
        while True:
            game_id = await queue.get()
            try:
                probed.append(await self.context.catalog.probe_or_error(game_id))
            except Exception as exc:  # a bug in one probe must not stop the pool
                probed.append(unread_summary(game_id, describe(exc)))
                asyncio.get_running_loop().call_exception_handler(
                    {"message": f"state probe of {game_id} failed", "exception": exc}
                )
            finally:
                queue.task_done()

    async def _flush_probed(self, probed: list[GameSummary], total) -> None:
        """Deliver probe results in batches every ``FLUSH_INTERVAL_S`` (one model update per
        batch instead of one per game keeps the GUI thread free)."""
        done = 0
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            done += len(probed)
            if self._emit_probed(probed):
                self.status.emit(f"{total()} games listed; states read: {done}")

    def _emit_probed(self, probed: list[GameSummary]) -> bool:
        if not probed:
            return False
        batch = probed[:]
        probed.clear()
        self.games_probed.emit(batch)
        return True

    def refresh_game(self, game_id: str) -> None:
        """Re-probe one game (after a job changed it)."""
        self._ops.run(self.context.catalog.probe_or_error(game_id), success=self.game_probed.emit)

    def load_detail(self, game_id: str) -> None:
        """Read one game's renditions/objects/playlists; emits ``detail_loaded`` or ``error``."""
        self.status.emit(f"Reading {game_id}…")
        self._ops.run(self.context.catalog.detail(game_id), success=self._detail_loaded)

    def _detail_loaded(self, detail: GameDetail) -> None:
        game_id = detail.summary.id
        self.detail_loaded.emit(detail)
        self.game_probed.emit(detail.summary)
        self.status.emit(f"{game_id}: {detail.summary.state or '?'} — {detail.summary.reason}")

    def playback_source(self, rendition: Rendition, game_title: str = "") -> PlaybackSource:
        """What the player loads for ``rendition`` through the gateway.

        Media playlists become an mpv EDL of their init section and segments (seekable
        anywhere on mpv 0.35, see ``player.controller``); a multivariant master plays as HLS
        so mpv picks the variant. Raises ``ServiceError`` for an unreadable playlist.
        """
        playlist = rendition.playlist
        if playlist is None:
            raise ServiceError(f"{rendition.playlist_key} cannot be played: {rendition.error}")
        if isinstance(playlist, MediaPlaylist) and rendition.missing:
            raise ServiceError(
                f"{rendition.name} references {len(rendition.missing)} missing object(s), "
                f"first {rendition.missing[0]}: it would stop there."
            )
        title = f"{game_title} — {rendition.name}" if game_title else rendition.name
        return source_for_playlist(
            title, rendition.playlist_key, playlist, self.context.gateway.url_for
        )

    def presign(self, key: str, expires_s: int) -> str:
        """A presigned GET URL (local signing, no I/O). Raises ``BadConfig`` on bad expiry."""
        return self.context.storage.presign_get(key, expires_s)

    def shutdown(self) -> None:
        self._ops.cancel_all()
