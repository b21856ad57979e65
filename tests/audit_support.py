"""A demo-like viewer stack for the gate and audit tests, built once per session.

``audit_stack``: a bucket on the session's moto server holding copies of the session's
backfilled game (``compared_game``: the short v1 with 720p + 360p rungs, server-side
copies, ledgers rewritten for their ids) — one clean, one per planted mistake — plus a
v1-only game in another league; the real viewer service (gate + playback/clip API) in
front of it with the four mistakes planted on their games; a baseline holding the
pre-migration URL of every migrated game (what a backfill records when it starts).

Test modules import the fixture: ``from tests.audit_support import audit_stack_fixture
# noqa: F401``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from console.demo.viewer import DEMO_API_TOKEN, DEMO_SIGNING_KEY, ViewerServer, start_viewer
from console.demo.viewer.mistakes import Mistakes
from services.audit.baseline import Baseline
from services.audit.game_audit import MigrationAudit
from services.audit.gate_client import ViewerConfig
from services.catalog import GameState, GameSummary
from services.job_reporting import JobOutcome
from services.ladder import load_ladder
from services.storage import Storage, StorageConfig
from tests.backfill_support import LADDER_FILE, RecordingReporter
from tests.conftest import s3_client

CLEAN = "aud-nfl-clean"
COOKIE = "aud-nfl-cookie"
OPEN_RUNG = "aud-nfl-openrung"
FOREIGN_CLIP = "aud-nfl-foreignclip"
DROPPED = "aud-nfl-dropped"
V1_ONLY = "aud-nba-v1only"
MIGRATED = (CLEAN, COOKIE, OPEN_RUNG, FOREIGN_CLIP, DROPPED)
MISTAKES = Mistakes(
    cookie_path=frozenset({COOKIE}),
    unprotected_rung={OPEN_RUNG: "360p"},
    foreign_clip=frozenset({FOREIGN_CLIP}),
    dropped_rung={DROPPED: "720p"},
)


@dataclass
class AuditStack:
    """The bucket, the running viewer service and the baseline file of the audit tests."""

    config: StorageConfig
    viewer: ViewerServer
    baseline_path: Path
    catalog: list[GameSummary]

    @property
    def viewer_config(self) -> ViewerConfig:
        return ViewerConfig(self.viewer.url, DEMO_API_TOKEN, DEMO_SIGNING_KEY)

    def game(self, game_id: str) -> GameSummary:
        return next(g for g in self.catalog if g.id == game_id)

    def audit(
        self,
        game_ids: list[str],
        report_root: Path,
        *,
        seed: int = 7,
        baseline: Baseline | None = None,
        viewer: ViewerConfig | None = None,
        reporter: RecordingReporter | None = None,
    ) -> tuple[JobOutcome, dict, RecordingReporter]:
        """Run one audit to its end on a fresh loop; returns the outcome, the saved report
        document and the reporter."""
        import json

        reporter = reporter or RecordingReporter(job_id=f"aud{uuid.uuid4().hex[:8]}")

        async def go() -> JobOutcome:
            storage = Storage(self.config)
            try:
                op = MigrationAudit(
                    storage,
                    viewer or self.viewer_config,
                    load_ladder(LADDER_FILE),
                    baseline or Baseline(self.baseline_path),
                    report_root,
                    [self.game(g) for g in game_ids],
                    catalog=self.catalog,
                    seed=seed,
                    selection={"games": game_ids, "seed": seed},
                )
                return await op(reporter)
            finally:
                storage.close()

        outcome = asyncio.run(go())
        document = json.loads(Path(outcome.result["report"]).read_text(encoding="utf-8"))
        return outcome, document, reporter


def _copy_game(client, source_bucket: str, bucket: str, source: str, target: str) -> None:
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=source_bucket, Prefix=f"games/{source}/"
    )
    for page in pages:
        for obj in page.get("Contents", ()):
            key = obj["Key"]
            rest = key[len(f"games/{source}/") :]
            if rest.startswith("source."):
                continue
            new = f"games/{target}/{rest}"
            if rest == "abr/renditions.json":
                body = client.get_object(Bucket=source_bucket, Key=key)["Body"].read()
                client.put_object(
                    Bucket=bucket, Key=new, Body=body.replace(source.encode(), target.encode())
                )
            else:
                client.copy_object(
                    Bucket=bucket, Key=new, CopySource={"Bucket": source_bucket, "Key": key}
                )


def _copy_v1_only(client, source_bucket: str, bucket: str, source: str, target: str) -> None:
    prefix = f"games/{source}/"
    for name in ("init.mp4", "seg_00000.m4s", "seg_00001.m4s"):
        client.copy_object(
            Bucket=bucket,
            Key=f"games/{target}/{name}",
            CopySource={"Bucket": source_bucket, "Key": prefix + name},
        )
    client.copy_object(
        Bucket=bucket,
        Key=f"games/{target}/master.m3u8",
        CopySource={"Bucket": source_bucket, "Key": prefix + "master.v1.m3u8"},
    )


@pytest.fixture(scope="session", name="audit_stack")
def audit_stack_fixture(compared_game, tmp_path_factory) -> Iterator[AuditStack]:
    import json

    config = StorageConfig(
        compared_game.config.endpoint_url, f"aud-{uuid.uuid4().hex[:12]}", "test", "test-secret"
    )
    client = s3_client(config)
    client.create_bucket(
        Bucket=config.bucket, CreateBucketConfiguration={"LocationConstraint": "auto"}
    )
    source_bucket, source = compared_game.config.bucket, compared_game.game_id
    catalog = []
    for game_id in MIGRATED:
        _copy_game(client, source_bucket, config.bucket, source, game_id)
        catalog.append(GameSummary(game_id, title=game_id, league="NFL", state=GameState.V15))
    _copy_v1_only(client, source_bucket, config.bucket, source, V1_ONLY)
    catalog.append(GameSummary(V1_ONLY, title=V1_ONLY, league="NBA", state=GameState.V1))
    for game in catalog:
        meta = {"title": game.title, "league": game.league, "date": "2026-11-22"}
        client.put_object(
            Bucket=config.bucket, Key=f"games/{game.id}/meta.json", Body=json.dumps(meta).encode()
        )
    viewer = start_viewer(s3_client(config), config.bucket, mistakes=MISTAKES)
    baseline_path = tmp_path_factory.mktemp("audit-baseline") / "baseline.json"
    baseline = Baseline(baseline_path)
    for game_id in MIGRATED:
        baseline.record(game_id, f"{viewer.url}/games/{game_id}/master.m3u8", "backfill")
    try:
        yield AuditStack(config, viewer, baseline_path, catalog)
    finally:
        viewer.stop()
