"""The audit report kept with its job: ``audit.json`` plus ``audit.csv``.

``audit.json`` (``schema_version`` 1; fields are only ever added)::

    {"schema_version": 1, "kind": "audit", "job_id": str, "created_at": ISO-8601 UTC,
     "verdict": "pass" | "fail",                  # fail when any game or the cost fails
     "selection": {"games": [id…], "league": str | null, "sample": int | null,
                   "seed": int},
     "criteria": [{"id", "label", "sentence"}],   # the five, in order
     "retire_v1": {"ready": bool, "why": str},    # may these v1 manifests be retired?
     "games": [{"game_id", "league", "title", "state", "verdict", "wall_seconds",
                "problem": str,
                "criteria": [{"criterion", "label", "verdict": "pass"|"fail"|"skip",
                              "summary", "checks": [{"name", "verdict", "detail"}],
                              "evidence": {…}}],
                "matrix": {"rows": [{"id", "label", "expect"}], "columns": [{"label",
                           "key"}], "cells": [[{"row", "column", "url", "status", "bytes",
                           "content_type", "media", "verdict", "detail"}]],
                           "other_game": str}}],
     "cost": services.audit.cost.summarize(...)}

Evidence is counts, bytes, status codes and URLs with every ``token`` replaced by ``…``;
no token or cookie value is ever written. ``audit.csv``: one row per game, header
``CSV_HEADER`` (criteria verdicts, stored bytes, $/month).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from services.audit.model import (
    CRITERIA,
    CRITERION_IDS,
    CriterionResult,
    GameAudit,
    SubCheck,
    Verdict,
)
from services.errors import MediaError

SCHEMA_VERSION = 1
REPORT_NAME = "audit.json"
CSV_NAME = "audit.csv"
CSV_HEADER = ("game_id", "league", "state", "verdict", *CRITERION_IDS, "stored_bytes", "usd_month")


def game_json(game: GameAudit) -> dict[str, Any]:
    return {
        "game_id": game.game_id,
        "league": game.league,
        "title": game.title,
        "state": game.state,
        "verdict": game.verdict.value,
        "wall_seconds": round(game.wall_seconds, 2),
        "problem": game.problem,
        "criteria": [c.as_json() for c in game.criteria],
        "matrix": game.matrix,
    }


def retire_v1(games: list[GameAudit]) -> dict[str, Any]:
    """Whether the audited games' v1 manifests may be retired: every game passes and every
    one is migrated (criterion 1 judged, not skipped)."""
    failing = [g.game_id for g in games if g.verdict is Verdict.FAIL]
    unmigrated = [
        g.game_id
        for g in games
        if (c := g.criterion("abr_same_url")) is None or c.verdict is Verdict.SKIP
    ]
    if not games:
        return {"ready": False, "why": "no game audited"}
    if failing or unmigrated:
        parts = []
        if failing:
            parts.append(f"{len(failing)} failing ({', '.join(failing[:5])})")
        if unmigrated:
            parts.append(f"{len(unmigrated)} not migrated ({', '.join(unmigrated[:5])})")
        return {"ready": False, "why": "; ".join(parts)}
    return {"ready": True, "why": f"all {len(games)} games pass the five criteria"}


def report_document(
    job_id: str, created_at: str, games: list[GameAudit], selection: dict, cost: dict
) -> dict[str, Any]:
    """The ``audit.json`` document (module docstring)."""
    failed = any(g.verdict is Verdict.FAIL for g in games) or cost.get("verdict") == "fail"
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "audit",
        "job_id": job_id,
        "created_at": created_at,
        "verdict": "fail" if failed else "pass",
        "selection": selection,
        "criteria": [{"id": i, "label": label, "sentence": s} for i, label, s in CRITERIA],
        "retire_v1": retire_v1(games),
        "games": [game_json(g) for g in games],
        "cost": cost,
    }


def write_report(folder: Path, document: dict[str, Any]) -> Path:
    """Write ``audit.json`` and ``audit.csv`` into ``folder`` (created); returns the JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / CSV_NAME).open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_HEADER)
        for game in document["games"]:
            verdicts = {c["criterion"]: c["verdict"] for c in game["criteria"]}
            cost = next((c for c in game["criteria"] if c["criterion"] == "cost"), {})
            evidence = cost.get("evidence", {})
            stored = sum(evidence.get(k, 0) for k in ("v1_bytes", "ladder_bytes", "other_bytes"))
            writer.writerow(
                (
                    game["game_id"],
                    game["league"],
                    game["state"],
                    game["verdict"],
                    *(verdicts.get(i, "") for i in CRITERION_IDS),
                    stored,
                    evidence.get("usd_month", ""),
                )
            )
    path = folder / REPORT_NAME
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _criterion(row: dict[str, Any]) -> CriterionResult:
    return CriterionResult(
        str(row["criterion"]),
        Verdict(row["verdict"]),
        str(row.get("summary", "")),
        tuple(
            SubCheck(str(c["name"]), Verdict(c["verdict"]), str(c.get("detail", "")))
            for c in row.get("checks", [])
        ),
        dict(row.get("evidence", {})),
    )


def read_report(path: Path) -> tuple[dict[str, Any], list[GameAudit]]:
    """A saved report: its document and its games as ``GameAudit``. Raises ``MediaError``
    naming ``path`` when it is not a schema-1 audit report."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("schema_version") != SCHEMA_VERSION or document.get("kind") != "audit":
            raise ValueError(f"schema_version {document.get('schema_version')!r}")
        games = [
            GameAudit(
                str(g["game_id"]),
                str(g.get("league", "")),
                str(g.get("title", "")),
                str(g.get("state", "")),
                tuple(_criterion(c) for c in g["criteria"]),
                dict(g.get("matrix") or {}),
                float(g.get("wall_seconds", 0.0)),
                str(g.get("problem", "")),
            )
            for g in document["games"]
        ]
        return document, games
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MediaError(f"{path} is not a readable audit report ({exc}).") from exc
