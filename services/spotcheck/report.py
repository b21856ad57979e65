"""The spot-check report kept with its job: ``report.json`` plus ``frames.csv``.

``report.json`` (``schema_version`` 1, stable: fields are only ever added)::

    {"schema_version": 1, "kind": "spotcheck", "job_id": str, "created_at": ISO-8601 UTC,
     "verdict": "pass" | "fail",                 # fail when any game fails
     "frames_csv": "frames.csv",                 # per-frame metrics, beside this file
     "games": [{
        "game_id": str, "verdict": "pass" | "fail", "ladder": "abr v1",
        "wall_seconds": float,
        "reference": {"kind": "source" | "v1", "key": str, "width": px, "height": px,
                      "frames": int, "duration_s": s, "fps": frames/s} | null,
        "checks": [Check, ...],                  # game-level: integrity.ledger,
                                                 # integrity.anchor, integrity.multivariant_uris,
                                                 # structure.multivariant, fidelity.v1_remux
        "rungs": [{
            "rung": "720p", "verdict": "pass" | "fail",
            "checks": [Check, ...],              # integrity.objects, integrity.playlist_uris,
                                                 # structure.playlist, structure.target_duration,
                                                 # structure.keyframes, structure.idr,
                                                 # structure.alignment, structure.bandwidth,
                                                 # structure.codecs, structure.resolution,
                                                 # structure.colour, quality.metrics,
                                                 # quality.segments, quality.freezes,
                                                 # quality.frames, quality.duration,
                                                 # quality.av_offset, quality.av_drift
            "metrics": {"psnr_db" | "ssim" | "vmaf":
                        {"mean": float, "min": float, "p5": float, "frames": int}},
            "measures": {"frames", "reference_frames", "duration_s", "reference_duration_s",
                         "av_offset_s", "reference_av_offset_s", "width", "height",
                         "bandwidth", "average_bandwidth",   # seconds, pixels, bits/s
                         "av_offset_end_s", "reference_av_offset_end_s", "av_drift_s",
                         "frozen_frames",                    # frames
                         "segments": [{"index", "uri", "start_s", "end_s", "frames",
                                       "psnr_db_mean", "psnr_db_p1",   # dB
                                       "vmaf_mean", "vmaf_p1"}]}       # 0-100
        }]
     }]}

    Check = {"name": "category.rule", "category": str, "verdict": "pass" | "fail" | "skip",
             "reasons": [str, ...],              # why it failed or was skipped
             "measured": [str, ...],             # what it measured, whatever the verdict
             "subjects": [str, ...],             # game-relative keys a failure is about
             "finding": str,                     # damaged | unreadable | anchor_changed | ...
             "cause": str,                       # a consequence: the check it follows from
             "action": str}                      # a failure: the operator's next step

PSNR in dB (per frame capped at 60 dB), SSIM 0-1 (all planes), VMAF 0-100 (vmaf_v0.6.1);
"mean"/"min"/"p5" pool the per-frame values (p5: 5th percentile, nearest rank); a
segment's "p1" is its 1st-percentile frame (nearest rank).

``frames.csv``: header ``game_id,rung,frame,pts_s,psnr_db,ssim,vmaf``, one row per
reference frame and rung; ``frame`` is the reference frame number (0-based), ``pts_s`` its
time from the first frame; a metric is empty where the rung has no frame (dropped).

Neither file carries a URL (the gateway's URLs hold its token): only bucket keys.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from services.errors import MediaError
from services.spotcheck.checks import (
    Check,
    FrameSeries,
    GameReport,
    Pooled,
    Reference,
    RungReport,
    Verdict,
)

SCHEMA_VERSION = 1
REPORT_NAME = "report.json"
FRAMES_NAME = "frames.csv"
CSV_HEADER = ("game_id", "rung", "frame", "pts_s", "psnr_db", "ssim", "vmaf")


def _check_json(c: Check) -> dict[str, Any]:
    return {
        "name": c.name,
        "category": c.category,
        "verdict": c.verdict.value,
        "reasons": list(c.reasons),
        "measured": list(c.measured),
        "subjects": list(c.subjects),
        "finding": c.finding,
        "cause": c.cause,
        "action": c.action,
    }


def _rung_json(r: RungReport) -> dict[str, Any]:
    return {
        "rung": r.rung,
        "verdict": r.verdict.value,
        "checks": [_check_json(c) for c in r.checks],
        "metrics": {
            name: {
                "mean": round(p.mean, 4),
                "min": round(p.min, 4),
                "p5": round(p.p5, 4),
                "frames": p.frames,
            }
            for name, p in r.pooled.items()
        },
        "measures": dict(r.measures),
    }


def game_json(game: GameReport) -> dict[str, Any]:
    ref = game.reference
    return {
        "game_id": game.game_id,
        "verdict": game.verdict.value,
        "ladder": game.ladder,
        "wall_seconds": round(game.wall_seconds, 2),
        "reference": None
        if ref is None
        else {
            "kind": ref.kind,
            "key": ref.key,
            "width": ref.width,
            "height": ref.height,
            "frames": ref.frames,
            "duration_s": round(ref.duration_s, 4),
            "fps": round(ref.fps, 3),
        },
        "checks": [_check_json(c) for c in game.checks],
        "rungs": [_rung_json(r) for r in game.rungs],
    }


def report_document(job_id: str, created_at: str, games: list[GameReport]) -> dict[str, Any]:
    """The ``report.json`` document (see the module docstring)."""
    failed = any(g.verdict is Verdict.FAIL for g in games)
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "spotcheck",
        "job_id": job_id,
        "created_at": created_at,
        "verdict": (Verdict.FAIL if failed else Verdict.PASS).value,
        "frames_csv": FRAMES_NAME,
        "games": [game_json(g) for g in games],
    }


def _cell(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.4f}"


def write_report(folder: Path, job_id: str, created_at: str, games: list[GameReport]) -> Path:
    """Write ``report.json`` and ``frames.csv`` into ``folder`` (created); returns the JSON
    path."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / FRAMES_NAME).open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_HEADER)
        for game in games:
            for rung in game.rungs:
                series = rung.frames
                if series is None:
                    continue
                for index, pts in enumerate(series.pts):
                    writer.writerow(
                        (
                            game.game_id,
                            rung.rung,
                            index,
                            f"{pts:.6f}",
                            _cell(series.psnr_db[index]),
                            _cell(series.ssim[index]),
                            _cell(series.vmaf[index]),
                        )
                    )
    path = folder / REPORT_NAME
    document = report_document(job_id, created_at, games)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def _check_from(row: dict[str, Any]) -> Check:
    return Check(
        str(row["name"]),
        Verdict(row["verdict"]),
        tuple(map(str, row["reasons"])),
        tuple(map(str, row.get("measured", ()))),
        tuple(map(str, row.get("subjects", ()))),
        str(row.get("finding", "")),
        str(row.get("cause", "")),
        str(row.get("action", "")),
    )


def _float(text: str) -> float:
    return float(text) if text else math.nan


def read_frames(path: Path) -> dict[tuple[str, str], FrameSeries]:
    """``frames.csv`` as ``{(game_id, rung): FrameSeries}``."""
    columns: dict[tuple[str, str], list[list[float]]] = {}
    with path.open(newline="", encoding="utf-8") as source:
        for row in csv.DictReader(source):
            lists = columns.setdefault((row["game_id"], row["rung"]), [[], [], [], []])
            for values, name in zip(lists, ("pts_s", "psnr_db", "ssim", "vmaf"), strict=True):
                values.append(_float(row[name]))
    return {key: FrameSeries(*(tuple(v) for v in lists)) for key, lists in columns.items()}


def read_report(path: Path) -> list[GameReport]:
    """Load a saved report (with its per-frame CSV when present) back into ``GameReport``
    objects. Raises ``MediaError`` naming ``path`` when it is not a schema-1 report."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"schema_version {document.get('schema_version')!r}")
        csv_path = path.parent / document.get("frames_csv", FRAMES_NAME)
        frames = read_frames(csv_path) if csv_path.exists() else {}
        games = []
        for game in document["games"]:
            ref = game.get("reference")
            rungs = tuple(
                RungReport(
                    rung=str(r["rung"]),
                    checks=tuple(_check_from(c) for c in r["checks"]),
                    pooled={
                        k: Pooled(
                            float(v["mean"]), float(v["min"]), float(v["p5"]), int(v["frames"])
                        )
                        for k, v in r["metrics"].items()
                    },
                    measures=dict(r.get("measures", {})),
                    frames=frames.get((game["game_id"], r["rung"])),
                )
                for r in game["rungs"]
            )
            games.append(
                GameReport(
                    game_id=str(game["game_id"]),
                    checks=tuple(_check_from(c) for c in game["checks"]),
                    rungs=rungs,
                    reference=None
                    if ref is None
                    else Reference(
                        str(ref["kind"]),
                        str(ref["key"]),
                        int(ref["width"]),
                        int(ref["height"]),
                        int(ref["frames"]),
                        float(ref["duration_s"]),
                        float(ref["fps"]),
                    ),
                    ladder=str(game.get("ladder", "")),
                    wall_seconds=float(game.get("wall_seconds", 0.0)),
                )
            )
        return games
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MediaError(f"{path} is not a readable spot-check report ({exc}).") from exc
