"""The migration audit through the real viewer side (issue 15): a clean migrated game
passes the five criteria; each planted mistake fails exactly the criterion it breaks, with
the cell or URL named; a v1-only game passes 2-4 and reports 1 as "not migrated"; no token
or cookie value reaches the report, the log or the job record; the CLI exits 1 on a fail.
Real moto S3 over HTTP, the real gate and playback API, real ffprobe decodes."""

from __future__ import annotations

import asyncio
import csv
import json
import re

import pytest

from services.audit.baseline import Baseline
from services.audit.gate_client import ViewerConfig
from tests.audit_support import (
    CLEAN,
    COOKIE,
    DROPPED,
    FOREIGN_CLIP,
    OPEN_RUNG,
    V1_ONLY,
    audit_stack_fixture,  # noqa: F401
)

pytestmark = pytest.mark.timeout(300)
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}")
"""Every JWT (token or gate cookie) starts with the base64url of '{"': none may be written."""


def _game(document: dict, game_id: str) -> dict:
    return next(g for g in document["games"] if g["game_id"] == game_id)


def _verdicts(game: dict) -> dict[str, str]:
    return {c["criterion"]: c["verdict"] for c in game["criteria"]}


def _criterion(game: dict, criterion: str) -> dict:
    return next(c for c in game["criteria"] if c["criterion"] == criterion)


@pytest.fixture(scope="module")
def clean_and_v1(audit_stack, tmp_path_factory):
    """One audit of the clean migrated game and the v1-only game (shared by tests)."""
    return audit_stack.audit([CLEAN, V1_ONLY], tmp_path_factory.mktemp("reports"))


def test_clean_migrated_game_passes_all_five_with_evidence(clean_and_v1, audit_stack):
    outcome, document, _ = clean_and_v1
    game = _game(document, CLEAN)
    assert _verdicts(game) == dict.fromkeys(
        ("abr_same_url", "v1_url_plays", "denied_no_media", "clips_stored", "cost"), "pass"
    ), [c["summary"] for c in game["criteria"]]
    abr = _criterion(game, "abr_same_url")
    names = {c["name"]: c for c in abr["checks"]}
    assert names["url.unchanged"]["verdict"] == "pass"
    assert abr["evidence"]["playback_url"] == f"{audit_stack.viewer.url}/games/{CLEAN}/master.m3u8"
    assert {"abr/720p.decode", "abr/360p.decode", "switch.720p→360p"} <= set(names)
    rendition = abr["evidence"]["renditions"][f"games/{CLEAN}/abr/360p/index.m3u8"]
    assert rendition["resolution"] == "640x360"
    assert rendition["decoded_frames"] == rendition["expected_frames"] == 192  # 2 × 4 s at 24 fps
    matrix = game["matrix"]
    denied = [c for row in matrix["cells"] for c in row if c["row"] in ("none", "expired")]
    assert denied and all(c["status"] == 403 and not c["media"] for c in denied)
    allowed = [c for row in matrix["cells"] for c in row if c["row"] == "token"]
    assert allowed and all(c["status"] in (200, 206) for c in allowed)
    assert {c["label"] for c in matrix["columns"]} == {
        "master", "720p playlist", "720p segment", "360p playlist", "360p segment",
        "v1 segment", "ledger",
    }  # fmt: skip
    clips = _criterion(game, "clips_stored")["evidence"]
    assert len(clips["clips"]) == 9 and clips["objects_before"] == clips["objects_after"]
    cost = _criterion(game, "cost")["evidence"]
    assert cost["ladder_bytes"] > 0 and cost["v1_bytes"] > 0
    assert document["retire_v1"]["ready"] is False  # the v1-only game is not migrated
    assert outcome.result["games"][CLEAN] == "pass"


def test_v1_only_game_passes_two_to_four_and_is_not_migrated(clean_and_v1):
    _, document, _ = clean_and_v1
    game = _game(document, V1_ONLY)
    verdicts = _verdicts(game)
    assert verdicts["abr_same_url"] == "skip"
    assert _criterion(game, "abr_same_url")["summary"] == "not migrated"
    assert verdicts["v1_url_plays"] == verdicts["denied_no_media"] == "pass"
    assert verdicts["clips_stored"] == "pass"
    assert game["verdict"] == "pass"
    assert [c["label"] for c in game["matrix"]["columns"]] == ["master", "v1 segment"]


@pytest.mark.parametrize(
    ("game_id", "criterion", "named"),
    [
        (COOKIE, "denied_no_media", "Path=/games/ (expected /games/aud-nfl-cookie/)"),
        (OPEN_RUNG, "denied_no_media", "/games/aud-nfl-openrung/abr/360p/index.m3u8"),
        (FOREIGN_CLIP, "clips_stored", "foreign games/"),
        (DROPPED, "abr_same_url", "abr/720p/index.m3u8 missing from the master served"),
    ],
)
def test_each_planted_mistake_fails_exactly_its_criterion(
    audit_stack, tmp_path, game_id, criterion, named
):
    _, document, _ = audit_stack.audit([game_id], tmp_path)
    game = _game(document, game_id)
    failed = {c for c, v in _verdicts(game).items() if v == "fail"}
    assert failed == {criterion}, [c["summary"] for c in game["criteria"]]
    details = " | ".join(
        c["detail"] for c in _criterion(game, criterion)["checks"] if c["verdict"] == "fail"
    )
    assert named in details
    if game_id == COOKIE:  # the replayed cookie opens the other game's objects too
        row = next(r for r in game["matrix"]["cells"] if r[0]["row"] == "cookie_replay")
        assert all(c["verdict"] == "fail" and c["status"] != 403 for c in row)
    if game_id == OPEN_RUNG:  # every refused row fails on the 360p cells, only there
        bad = {c["column"] for r in game["matrix"]["cells"] for c in r if c["verdict"] == "fail"}
        assert bad == {"360p playlist", "360p segment"}
    assert document["verdict"] == "fail"


def test_no_token_or_cookie_value_in_report_log_or_job_record(audit_stack, tmp_path):
    from services.jobs.runner import JobRunner

    async def go():
        runner = JobRunner.at(tmp_path / "jobs.sqlite3")
        try:
            from services.audit.game_audit import MigrationAudit
            from services.ladder import load_ladder
            from services.storage import Storage
            from tests.backfill_support import LADDER_FILE

            storage = Storage(audit_stack.config)
            op = MigrationAudit(
                storage,
                audit_stack.viewer_config,
                load_ladder(LADDER_FILE),
                Baseline(audit_stack.baseline_path),
                tmp_path / "reports",
                [audit_stack.game(COOKIE), audit_stack.game(OPEN_RUNG)],
                catalog=audit_stack.catalog,
                seed=3,
                selection={},
            )
            record = runner.submit("audit", "games", "Audit", op)
            record = await runner.wait(record.id)
            lines = runner.log(record.id)
            storage.close()
            return record, lines
        finally:
            await runner.aclose()

    record, lines = asyncio.run(go())
    assert record.result["verdict"] == "fail"
    report = (tmp_path / "reports" / record.id / "audit.json").read_text()
    written = {
        "report": report,
        "csv": (tmp_path / "reports" / record.id / "audit.csv").read_text(),
        "log": "\n".join(lines),
        "record": json.dumps(record.result) + record.summary,
        "history": (tmp_path / "jobs.sqlite3").read_bytes().decode("latin-1"),
        "baseline": audit_stack.baseline_path.read_text(),
    }
    for name, text in written.items():
        assert not JWT.search(text), f"a token or cookie value in the {name}"
    assert "token=…" in report  # the URLs that carried one say so, without it


def test_migrated_game_needs_its_recorded_url(audit_stack, tmp_path):
    empty = Baseline(tmp_path / "none.json")
    _, document, _ = audit_stack.audit([CLEAN], tmp_path / "a", baseline=empty)
    checks = _criterion(_game(document, CLEAN), "abr_same_url")["checks"]
    assert next(c for c in checks if c["name"] == "url.unchanged")["verdict"] == "fail"
    moved = Baseline(tmp_path / "moved.json")
    moved.record(CLEAN, f"https://old.example/games/{CLEAN}/master.m3u8", "backfill")
    _, document, _ = audit_stack.audit([CLEAN], tmp_path / "b", baseline=moved)
    game = _game(document, CLEAN)
    unchanged = next(
        c for c in _criterion(game, "abr_same_url")["checks"] if c["name"] == "url.unchanged"
    )
    assert unchanged["verdict"] == "fail" and "≠" in unchanged["detail"]


def test_without_signing_key_token_rows_are_skipped_not_passed(audit_stack, tmp_path):
    viewer = ViewerConfig(audit_stack.viewer.url, audit_stack.viewer_config.api_token, "")
    _, document, _ = audit_stack.audit([V1_ONLY], tmp_path, viewer=viewer)
    checks = {
        c["name"]: c for c in _criterion(_game(document, V1_ONLY), "denied_no_media")["checks"]
    }
    assert checks["deny.expired"]["verdict"] == "skip"
    assert "no signing key" in checks["deny.expired"]["detail"]
    assert checks["deny.none"]["verdict"] == "pass"


def test_cost_per_league_and_catalog_and_csv(clean_and_v1):
    outcome, document, _ = clean_and_v1
    cost = document["cost"]
    assert set(cost["leagues"]) == {"NFL", "NBA"}
    assert cost["leagues"]["NFL"]["listed_games"] == 5
    assert cost["catalog"]["listed_games"] == 6 and cost["verdict"] == "pass"
    nba = cost["leagues"]["NBA"]
    assert nba["projected_bytes_per_game"] > nba["stored_bytes"]  # v1 + the projected ladder
    rows = list(csv.DictReader(open(outcome.result["report"].replace("audit.json", "audit.csv"))))
    assert {r["game_id"]: r["abr_same_url"] for r in rows} == {CLEAN: "pass", V1_ONLY: "skip"}


def test_cli_audit_exits_1_on_a_fail_and_prints_the_table(audit_stack, capsys):
    from console.cli.entry import main
    from console.context import GATE_SIGNING_KEY, VIEWER_API_TOKEN
    from console.ops.audit import baseline_for
    from console.profiles import Profile, save_profile
    from services.credentials import CredentialStore
    from tests.gui_support import make_profile

    name = "audit-cli"
    make_profile(name, audit_stack.config)
    profile = Profile(
        name,
        audit_stack.config.endpoint_url,
        audit_stack.config.bucket,
        viewer_url=audit_stack.viewer.url,
    )
    save_profile(profile)
    store = CredentialStore()
    store.set(name, VIEWER_API_TOKEN, audit_stack.viewer_config.api_token)
    store.set(name, GATE_SIGNING_KEY, audit_stack.viewer_config.signing_key)
    baseline = baseline_for(name)
    baseline.record(DROPPED, f"{audit_stack.viewer.url}/games/{DROPPED}/master.m3u8", "backfill")
    assert main(["--profile", name, "audit", "--game", DROPPED, "--json"]) == 1
    out = capsys.readouterr()
    document = json.loads(out.out)
    assert _game(document, DROPPED)["verdict"] == "fail"
    assert "master.rungs" in out.err and "retire v1: no" in out.err
    assert (
        main(["--profile", name, "audit", "--league", "NBA", "--sample", "1", "--seed", "4"]) == 0
    )
    out = capsys.readouterr().out
    assert V1_ONLY in out and "not migrated" in out and not JWT.search(out)
