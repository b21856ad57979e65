"""The GUI composition root: services (``open_context``: the demo stack or a profile, built
off the GUI thread), controllers, views and the signals between them; ``Console`` is the
running whole (the smoke check and the tests drive it).

The player and the views are imported inside ``build_console``: libmpv must not load
before the QApplication exists and ``LC_NUMERIC`` is ``C`` (docs/platform.md).
"""

from __future__ import annotations

import asyncio
import gc
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication

from console import APP_TITLE, __version__
from console.context import AppContext, open_context
from console.errors import install_excepthooks, install_loop_exception_handler
from console.gui.catalog_controller import CatalogController
from console.paths import jobs_db_path, resources_dir
from services.errors import describe

if TYPE_CHECKING:
    from console.gui.assets_controller import AssetsController
    from console.gui.audit_controller import AuditController
    from console.gui.backfill_controller import BackfillController
    from console.gui.clip_controller import ClipController
    from console.gui.cluster_controller import ClusterController
    from console.gui.compare_controller import CompareController
    from console.gui.cue_controller import CueController
    from console.gui.jobs_controller import JobsController
    from console.gui.monitor_controller import MonitorController
    from console.gui.spotcheck_controller import SpotcheckController
    from player.controller import Player
    from views.main_window import MainWindow


def about_text() -> str:
    attribution = (resources_dir() / "demo" / "ATTRIBUTION.md").read_text(encoding="utf-8")
    credit = next((line for line in attribution.splitlines() if "Blender" in line), "")
    return (
        f"<b>{APP_TITLE}</b> {__version__}<br>R2 catalog, libmpv preview and ABR jobs for "
        f"sports-video operations.<br><br>Demo media: {credit}"
    )


class ErrorRelay(QObject):
    """Carries error sentences from any thread to the GUI thread."""

    message = Signal(str)


@dataclass
class Console:
    """The running GUI: its context, controllers and window (for the smoke check/tests)."""

    app: QApplication
    context: AppContext
    catalog: CatalogController
    player: Player
    window: MainWindow
    assets: AssetsController
    jobs: JobsController
    backfill: BackfillController
    cues: CueController
    spotcheck: SpotcheckController
    compare: CompareController
    clips: ClipController
    audit: AuditController | None = None
    monitor: MonitorController | None = None
    cluster: ClusterController | None = None

    async def aclose(self) -> None:
        """Stop controllers and the player, cancel running jobs (their ffmpeg stops, their
        games stay on v1; cluster batches are detached first: their Ray jobs keep running
        and the next start re-attaches), then close the services' connections."""
        self._stop_controllers()
        await self.jobs.runner.aclose()
        await self.context.aclose()

    def close(self) -> None:
        """``aclose`` for synchronous callers (tests' teardown); jobs still running are
        cancelled on the loop when it runs, else left to the process exit."""
        self._stop_controllers()
        loop = asyncio.get_event_loop_policy().get_event_loop()
        if loop.is_running():
            loop.create_task(self.jobs.runner.aclose())
        elif not loop.is_closed():
            loop.run_until_complete(self.jobs.runner.aclose())
        self.context.close()

    def _stop_controllers(self) -> None:
        """Every controller stops its operations and timers; the player frees libmpv."""
        for controller in (
            self.catalog,
            self.assets,
            self.jobs,
            self.cues,
            self.spotcheck,
            self.compare,
            self.clips,
            *([self.audit] if self.audit is not None else []),
            *([self.monitor] if self.monitor is not None else []),
            *([self.cluster] if self.cluster is not None else []),
        ):
            controller.shutdown()
        self.player.shutdown()


async def build_console(app: QApplication, profile: str | None = None) -> Console:
    """Connect (demo stack or profile), then build controllers and the window; shown."""
    from console.gui.assets_controller import AssetsController
    from console.gui.audit_controller import AuditController, wire_audit
    from console.gui.backfill_controller import BackfillController
    from console.gui.clip_controller import ClipController
    from console.gui.cluster_controller import ClusterController, wire_cluster
    from console.gui.compare_controller import CompareController
    from console.gui.cue_controller import CueController
    from console.gui.jobs_controller import JobsController
    from console.gui.monitor_controller import MonitorController
    from console.gui.spotcheck_controller import SpotcheckController
    from player.controller import Player
    from player.video_widget import create_video_widget
    from services.jobs.runner import JobRunner
    from views.asset_detail_panel import AssetDetailPanel
    from views.assets_panel import AssetsPanel
    from views.catalog_panel import CatalogPanel
    from views.cue_status_panel import CueStatusPanel
    from views.cues_panel import CuesPanel
    from views.game_detail_panel import GameDetailPanel
    from views.jobs_panel import JobsPanel
    from views.main_window import MainWindow
    from views.monitor_panel import MonitorPanel
    from views.player_panel import PlayerPanel

    context = await open_context(profile)
    catalog = CatalogController(context)
    player = Player()
    video = create_video_widget(player)
    title = f"{APP_TITLE} — {context.title}"
    catalog_panel = CatalogPanel(catalog)
    detail_panel = GameDetailPanel(catalog)
    clips = ClipController(context.storage, context.gateway.url_for)
    player_panel = PlayerPanel(player, video, clips=clips)
    compare = CompareController(context.catalog, context.gateway.url_for)
    assets = AssetsController(context)
    assets_panel = AssetsPanel(assets)
    asset_detail = AssetDetailPanel()
    runner = JobRunner.at(jobs_db_path())
    jobs = JobsController(runner)
    backfill = BackfillController(context, jobs)
    cues = CueController(context)
    cues_panel = CuesPanel(cues)
    cue_status = CueStatusPanel(cues)
    monitor = MonitorController(context)
    monitor_panel = MonitorPanel(monitor)
    spotcheck = SpotcheckController(context, jobs)
    cluster = ClusterController(
        context,
        jobs,
        backfill.backfills.ladder,
        source_prefix=spotcheck.spotchecks.source_prefix,
    )
    jobs_panel = JobsPanel(jobs, games=cluster)
    window = MainWindow(
        title=title,
        is_demo=context.profile.is_demo,
        catalog_panel=catalog_panel,
        detail_panel=detail_panel,
        player_panel=player_panel,
        assets_panel=assets_panel,
        asset_detail_panel=asset_detail,
        jobs_panel=jobs_panel,
        about_text=about_text(),
        cues_panel=cues_panel,
        cue_status_panel=cue_status,
        monitor_panel=monitor_panel,
    )
    relay = ErrorRelay(window)
    relay.message.connect(window.show_error)
    install_excepthooks(relay.message.emit)
    install_loop_exception_handler(asyncio.get_running_loop(), relay.message.emit)
    for controller in (catalog, assets, cues, monitor):
        controller.error.connect(window.show_error)
        controller.status.connect(window.show_status)
    jobs.error.connect(window.show_error)
    wire_backfill(
        window, catalog, catalog_panel, detail_panel, backfill, jobs_panel, context, cluster
    )
    wire_spotcheck(window, catalog_panel, spotcheck, jobs_panel, compare, cluster)
    wire_cluster(window, jobs_panel, spotcheck, cluster)
    audit = AuditController(context, jobs)
    wire_audit(window, catalog_panel, jobs_panel, audit)
    if runner.store.recovered:
        window.show_status(
            f"{len(runner.store.recovered)} job(s) were interrupted when the console last "
            "exited: run them again to resume (Jobs tab)."
        )
    player.error.connect(window.show_error)
    catalog.detail_loaded.connect(detail_panel.show_detail)
    catalog_panel.game_selected.connect(catalog.load_detail)
    catalog_panel.refresh_requested.connect(catalog.refresh)

    def play(rendition) -> None:
        try:
            shown = detail_panel.detail
            game = f"{shown.summary.title} ({shown.summary.id})" if shown else ""
            player.load(catalog.playback_source(rendition, game))
            clips.set_rendition(shown.summary.id if shown else None, rendition)
        except Exception as exc:  # a refused rendition is shown, never raised to Qt
            window.show_error(describe(exc))

    detail_panel.play_requested.connect(play)
    wire_clips_and_compare(window, player, clips, compare, detail_panel)
    assets.detail_loaded.connect(asset_detail.show_asset)
    assets.retry_result.connect(asset_detail.add_result)
    assets.play_ready.connect(player.load)
    assets.play_ready.connect(lambda _source: clips.set_rendition(None, None))
    assets_panel.asset_selected.connect(assets.select)
    assets.retry_started.connect(asset_detail.clear_results)
    asset_detail.play_requested.connect(assets.play)
    cues.preview_ready.connect(player.load)
    monitor.preview_ready.connect(player.load)
    if not context.credentials.persistent:
        window.show_status(context.credentials.status)
    window.resize(1440, 900)
    window.show()
    # start-up objects never die: keep them out of the collector so full collections
    # (which hold the GIL, also against the GUI thread) stay short
    gc.freeze()
    catalog.refresh()
    if assets.available:
        assets.load()
    if cues.available:
        cues.load_channels()
    return Console(
        app,
        context,
        catalog,
        player,
        window,
        assets,
        jobs,
        backfill,
        cues,
        spotcheck,
        compare,
        clips,
        audit,
        monitor,
        cluster,
    )


def wire_clips_and_compare(window, player, clips, compare, detail_panel) -> None:
    """Clip previews play in the main player; the compare view is its own window, created
    on first use (two more libmpv cores); "Compare…" in the game detail compares the
    selected rendition (side B) with v1, or v1 with the first rung (side A)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QAction, QKeySequence

    from views.compare_view import CompareView

    clips.preview_ready.connect(lambda source, start: player.load(source, start))
    for controller in (clips, compare):
        controller.error.connect(window.show_error)
        controller.status.connect(window.show_status)
    views: list[CompareView] = []

    def show_compare() -> None:
        if not views:
            try:
                view = CompareView(compare)
            except Exception as exc:  # libmpv missing: say so, keep the console running
                window.show_error(describe(exc))
                return
            view.setParent(window, Qt.WindowType.Window)
            view.setWindowTitle(f"Compare — {window.windowTitle()}")
            view.resize(1400, 940)
            views.append(view)
        views[0].show()
        views[0].raise_()
        views[0].activateWindow()

    def compare_selected(rendition) -> None:
        shown = detail_panel.detail
        if shown is None:
            return
        names = [r.name for r in shown.renditions if r.kind == "media" and not r.missing]
        others = [n for n in names if n != rendition.name]
        reference = "v1" if "v1" in others else (others[0] if others else rendition.name)
        compare.open_compare(shown.summary.id, rendition.name, reference, 0)

    compare.show_requested.connect(show_compare)
    detail_panel.compare_requested.connect(compare_selected)
    view_menu = next((a.menu() for a in window.menuBar().actions() if a.text() == "&View"), None)
    if view_menu is not None:
        action = QAction("&Compare renditions…", window, shortcut=QKeySequence("Ctrl+Shift+C"))
        action.triggered.connect(show_compare)
        view_menu.addAction(action)


def wire_backfill(
    window, catalog, catalog_panel, detail_panel, backfill, jobs_panel, context, cluster=None
) -> None:
    """Catalog → confirmation (where: this machine or the profile's Ray cluster) →
    backfill jobs, or one cluster batch; a finished job (or a batch's finished game)
    re-reads its game; the Jobs panel's "open game" shows the game in the catalog with its
    detail."""
    from views.backfill_dialog import BackfillDialog

    def ask(games: list, explicit: bool) -> None:
        plans = {}
        for force in (False, True):
            plan = backfill.plan(games, explicit=explicit, force=force)
            plans[force] = ([g.id for g in plan.games], [(g.id, why) for g, why in plan.skipped])
        dialog = BackfillDialog(
            plans,
            profile=context.profile.name,
            bucket=context.profile.bucket,
            is_demo=context.profile.is_demo,
            ladder=backfill.ladder_label,
            parent=window,
            **_cluster_choice(cluster),
        )
        if dialog.exec():
            chosen = set(dialog.games)
            plan = backfill.plan([g for g in games if g.id in chosen], explicit=True)
            if dialog.on_cluster and cluster is not None:
                cluster.submit("backfill", [g.id for g in plan.games], force=dialog.force)
            else:
                backfill.submit(plan, force=dialog.force)
            window.show_section(jobs_panel)

    def game_changed(game_id: str) -> None:
        catalog.refresh_game(game_id)
        shown = detail_panel.detail
        if shown is not None and shown.summary.id == game_id:
            catalog.load_detail(game_id)

    def open_game(game_id: str) -> None:
        window.show_section(catalog_panel)
        if not catalog_panel.select_game(game_id):
            catalog.load_detail(game_id)

    catalog_panel.backfill_requested.connect(ask)
    backfill.game_changed.connect(game_changed)
    if cluster is not None:
        cluster.game_changed.connect(game_changed)
    backfill.status.connect(window.show_status)
    jobs_panel.open_target.connect(open_game)
    jobs_panel.target_selected.connect(catalog.load_detail)


def wire_spotcheck(window, catalog_panel, spotcheck, jobs_panel, compare, cluster=None) -> None:
    """Catalog → spot-check jobs (when the profile has a Ray cluster, a dialog asks where:
    this machine, or one cluster batch); the Jobs panel's "Open report" → the report view
    (a window of its own); a click on a plot point opens the compare view on that rung
    against the report's reference, at that frame."""
    from PySide6.QtCore import Qt

    from views.spotcheck_dialog import SpotcheckDialog
    from views.spotcheck_report import SpotcheckReportView

    views: list = []

    def show_report(job_id: str, games: list) -> None:
        view = SpotcheckReportView(games, job_id, parent=window)
        view.setWindowFlag(Qt.WindowType.Window)
        view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        view.resize(1280, 820)
        view.compare_requested.connect(compare.open_compare)
        view.destroyed.connect(lambda *_: views.remove(view) if view in views else None)
        views.append(view)
        view.show()

    def submit(games: list, sample: int) -> None:
        if cluster is None or cluster.target is None:  # nothing to choose: this machine
            spotcheck.submit(games, sample)
            window.show_section(jobs_panel)
            return
        chosen, note = spotcheck.choose(games, sample)
        dialog = SpotcheckDialog(
            [g.id for g in chosen], note=note, parent=window, **_cluster_choice(cluster)
        )
        if not dialog.exec():
            return
        if dialog.on_cluster:
            cluster.submit("spotcheck", [g.id for g in chosen])
        else:
            spotcheck.submit_games(chosen, note)
        window.show_section(jobs_panel)

    catalog_panel.spotcheck_requested.connect(submit)
    jobs_panel.open_report.connect(spotcheck.open_report)
    spotcheck.report_loaded.connect(show_report)
    spotcheck.status.connect(window.show_status)
    spotcheck.error.connect(window.show_error)


def _cluster_choice(cluster) -> dict[str, str]:
    """The confirmation dialogs' target arguments: the profile's cluster address, why
    there is none, and what its last status poll said."""
    if cluster is None:
        return {}
    target, status = cluster.target, cluster.last_status
    return {
        "cluster_address": target.address if target is not None else "",
        "no_cluster_reason": cluster.reason,
        "cluster_note": f"Last status poll: {status.problem}" if target and status.problem else "",
    }
