"""The Failed assets section of the real window against the real demo assets API over
HTTP: listing, filters, lazy paging, timeline, confirmed bulk retry with a 409 among the
outcomes, and live follow until the retried asset settles."""

from __future__ import annotations

import time

import httpx
import pytest

from console.gui.app import make_application
from console.gui.composition import build_console
from console.profiles import Profile, save_profile
from services.assets_model import AssetStatus
from services.credentials import CredentialStore
from tests.conftest import closed_port, upload_game
from tests.gui_support import make_profile, run_task

pytestmark = pytest.mark.timeout(180)
TOKEN = "gui-assets-token"


@pytest.fixture
def assets_api(start_assets):
    server = start_assets(TOKEN)
    # the seed holds assets already being retried: let them settle so counts stay put
    deadline = time.monotonic() + 20
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        while http.get("/api/video-assets", params={"status": "retrying"}).json()["items"]:
            assert time.monotonic() < deadline, "seeded retries did not settle"
            time.sleep(0.2)
    time.sleep(2.5)  # retrying → processing → completed/failed takes ~1 s + ~2 s
    return server


def _open(qtbot, storage_config, name: str, assets_url: str | None):
    make_profile(name, storage_config)
    if assets_url:
        save_profile(
            Profile(
                name=name,
                endpoint_url=storage_config.endpoint_url,
                bucket=storage_config.bucket,
                assets_api_url=assets_url,
            )
        )
        CredentialStore().set(name, "assets_api_token", TOKEN)
    return run_task(qtbot, build_console(make_application(), name))


@pytest.fixture
def console(qapp, qloop, qtbot, storage_config, assets_api):
    built = _open(qtbot, storage_config, "gui-assets", assets_api.url)
    built.window.sections.setCurrentIndex(1)
    yield built
    built.close()
    built.window.close()


def _failed_count(api) -> int:
    """How many assets the server lists as failed right now (all pages)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    total, cursor = 0, None
    with httpx.Client(base_url=api.url, headers=headers) as http:
        while True:
            params = {"status": "failed", "limit": 200, **({"cursor": cursor} if cursor else {})}
            page = http.get("/api/video-assets", params=params).json()
            total += len(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return total


def test_lists_failed_assets_pages_lazily_and_shows_a_timeline(console, qtbot, assets_api):
    panel = console.window.assets_panel
    qtbot.waitUntil(lambda: panel.model.rowCount() > 0, timeout=15_000)
    expected = _failed_count(assets_api)
    # lazy paging: scrolling to the bottom fetches the next pages until all are loaded
    for _ in range(20):
        if panel.model.rowCount() >= expected:
            break
        bar = panel.table.verticalScrollBar()
        bar.setValue(bar.maximum())
        qtbot.wait(300)
    assert panel.model.rowCount() == expected
    statuses = {panel.model.asset(r).status for r in range(panel.model.rowCount())}
    assert statuses == {AssetStatus.FAILED}
    panel.table.selectRow(0)
    detail = console.window.asset_detail_panel
    qtbot.waitUntil(lambda: detail.timeline.topLevelItemCount() >= 2, timeout=10_000)
    assert detail.asset.post_id == panel.model.asset(0).post_id
    assert detail.error_label.text()  # a failed asset says why
    assert console.window.details.currentWidget() is detail


def test_filters_by_status_and_error_code(console, qtbot):
    panel = console.window.assets_panel
    qtbot.waitUntil(lambda: panel.model.rowCount() > 0, timeout=15_000)
    code = panel.model.asset(0).error_code
    panel.code_box.setCurrentText(code)
    panel.apply_filters()
    qtbot.waitUntil(
        lambda: (
            panel.model.rowCount() > 0
            and all(panel.model.asset(r).error_code == code for r in range(panel.model.rowCount()))
        ),
        timeout=10_000,
    )
    panel.code_box.setCurrentIndex(0)
    panel.status_box.setCurrentText("completed")
    qtbot.waitUntil(
        lambda: (
            panel.model.rowCount() > 0
            and {panel.model.asset(r).status for r in range(panel.model.rowCount())}
            == {AssetStatus.COMPLETED}
        ),
        timeout=10_000,
    )


def test_bulk_retry_reports_each_outcome_and_follows_until_settled(console, qtbot, assets_api):
    panel = console.window.assets_panel
    qtbot.waitUntil(lambda: panel.model.rowCount() >= 3, timeout=15_000)
    chosen = [panel.model.asset(r).post_id for r in range(3)]
    # someone else retries the second one meanwhile: its status changes under us
    with httpx.Client(
        base_url=assets_api.url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as http:
        answer = http.post(
            "/api/video-assets/retry",
            json={"postId": chosen[1]},
            headers={"Idempotency-Key": "someone-else"},
        )
        assert answer.status_code == 200
    asked = []
    panel.confirm_retry = lambda assets: asked.append([a.post_id for a in assets]) or True
    selection = panel.table.selectionModel()
    for row in range(3):
        selection.select(
            panel.model.index(row, 0), selection.SelectionFlag.Select | selection.SelectionFlag.Rows
        )
    assert panel.selected_post_ids() == chosen
    panel.request_retry()
    assert asked == [chosen]
    results = console.window.asset_detail_panel.results
    qtbot.waitUntil(lambda: results.count() == 3, timeout=15_000)
    lines = [results.item(i).text() for i in range(3)]
    assert sum(": retried" in line for line in lines) == 2
    conflict = next(line for line in lines if ": conflict" in line)
    assert chosen[1] in conflict
    assert any(status in conflict for status in ("retrying", "processing"))
    # the table follows the retried ones live until they complete or fail again
    settled = {AssetStatus.COMPLETED, AssetStatus.FAILED}

    def row_status(post_id):
        model = panel.model
        return next(
            model.asset(r).status
            for r in range(model.rowCount())
            if model.asset(r).post_id == post_id
        )

    qtbot.waitUntil(
        lambda: row_status(chosen[0]) is AssetStatus.RETRYING or row_status(chosen[0]) in settled,
        timeout=5_000,
    )
    qtbot.waitUntil(
        lambda: (
            all(row_status(p) in settled for p in (chosen[0], chosen[2]))
            and not console.assets.following
        ),
        timeout=30_000,
    )
    attempts = {
        panel.model.asset(r).post_id: panel.model.asset(r).attempts
        for r in range(panel.model.rowCount())
    }
    assert attempts[chosen[0]] >= 2


def test_cancelled_confirmation_retries_nothing(console, qtbot, assets_api):
    panel = console.window.assets_panel
    qtbot.waitUntil(lambda: panel.model.rowCount() > 0, timeout=15_000)
    post_id = panel.model.asset(0).post_id

    def server_view():
        with httpx.Client(
            base_url=assets_api.url, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as http:
            asset = http.get(f"/api/video-assets/{post_id}").json()
            events = http.get(f"/api/video-assets/{post_id}/events").json()["events"]
        return asset["status"], asset["attempts"], len(events)

    before = server_view()
    asked = []
    panel.confirm_retry = lambda assets: asked.append(assets) or False
    panel.table.selectRow(0)
    panel.request_retry()
    qtbot.wait(1_000)
    assert len(asked) == 1 and asked[0][0].post_id == post_id
    assert server_view() == before == ("failed", before[1], before[2])
    assert console.window.asset_detail_panel.results.count() == 0


def test_profile_without_assets_api_says_so(qapp, qloop, qtbot, storage_config):
    built = _open(qtbot, storage_config, "no-assets", None)
    try:
        panel = built.window.assets_panel
        assert not panel.isEnabled()
        assert "assets API" in panel.notice.text()
    finally:
        built.close()
        built.window.close()


def test_completed_asset_plays_its_manifest_through_the_gateway(
    qapp, qloop, qtbot, storage_config, v1_hls_dir, start_assets
):
    upload_game(storage_config, "g-played", v1_hls_dir)
    manifest = f"{storage_config.endpoint_url}/{storage_config.bucket}/games/g-played/master.m3u8"
    server = start_assets(TOKEN, manifest_urls=(manifest,))
    built = _open(qtbot, storage_config, "gui-assets-play", server.url)
    try:
        panel = built.window.assets_panel
        qtbot.waitUntil(lambda: panel.model.rowCount() > 0, timeout=15_000)
        panel.status_box.setCurrentText("completed")
        qtbot.waitUntil(
            lambda: (
                panel.model.rowCount() > 0 and panel.model.asset(0).status is AssetStatus.COMPLETED
            ),
            timeout=10_000,
        )
        panel.table.selectRow(0)
        detail = built.window.asset_detail_panel
        qtbot.waitUntil(
            lambda: detail.asset is not None and detail.play_button.isEnabled(), timeout=10_000
        )
        assert detail.asset.manifest_url == manifest
        detail.play_button.click()
        video = built.window.player_panel.video
        qtbot.waitUntil(lambda: video.frames_rendered > 0, timeout=20_000)
        assert built.player.source.kind == "media"  # the v1 master plays as a seekable EDL
        assert built.context.gateway.requests_served > 0
    finally:
        built.close()
        built.window.close()


def test_unreachable_assets_api_is_one_clear_message(qapp, qloop, qtbot, storage_config):
    built = _open(qtbot, storage_config, "gui-assets-dead", f"http://127.0.0.1:{closed_port()}")
    try:
        banner = built.window.banner
        qtbot.waitUntil(banner.isVisible, timeout=30_000)
        assert "Cannot reach the assets API" in banner.label.text()
        assert "Traceback" not in banner.label.text()
    finally:
        built.close()
        built.window.close()
