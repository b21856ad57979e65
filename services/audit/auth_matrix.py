"""Criterion 3 of docs/contracts.md §1.5: an unauthorized or wrong-entitlement request to
any object returns 403 with no media — as a matrix of credential shapes × objects.

Rows refused (each cell must be **403** with a small non-media body, ``looks_like_media``):

==================  ==================================================================
``none``            no credential at all
``tampered``        this game's token with its HS256 signature altered (RFC 7519 §7.2)
``expired``         this game's token, ``exp`` in the past (RFC 7519 §4.1.4)
``other_game``      another game's token (from the playback API)
``cookie_replay``   this game's gate cookie sent to the same object of another game
                    (a cookie must only open its own ``Path=/games/{id}/``, RFC 6265 §5.4);
                    a cell whose object answers without any credential is inconclusive
                    (skip: that other game's own audit fails it)
``ent_without``     a session token whose ``ent`` lists other games and leagues only
==================  ==================================================================

Rows allowed (each cell must be 200/206): ``token`` (the playback API's token),
``cookie`` (the cookie the gate set), ``ent_with`` (``ent`` naming this game). Columns:
``master.m3u8``, each rung's ``index.m3u8`` and first segment, a v1 segment, the ledger.
Tokens needing the signing key are skipped, with the reason, when the profile has none.
The gate's ``Set-Cookie`` must also be scoped to ``Path=/games/{id}/`` and ``HttpOnly``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from services.audit.gate_client import Fetched, GateClient, looks_like_media
from services.audit.model import CriterionResult, SubCheck, judged, skip, sub
from services.layout import GameKeys
from services.viewer_tokens import (
    COOKIE_TTL_S,
    game_path,
    issue_game_token,
    issue_session_token,
    tamper,
)

DENIED_ROWS = ("none", "tampered", "expired", "other_game", "cookie_replay", "ent_without")
ALLOWED_ROWS = ("token", "cookie", "ent_with")
ROW_LABELS = {
    "none": "no credential",
    "tampered": "tampered signature",
    "expired": "expired token",
    "other_game": "another game's token",
    "cookie_replay": "cookie replayed on another game's path",
    "ent_without": "ent without this game",
    "token": "valid game token",
    "cookie": "gate cookie",
    "ent_with": "ent with this game",
}
PARALLEL = 8


def matrix_columns(keys: GameKeys, objects: list[str]) -> list[tuple[str, str]]:
    """``(label, key)`` of the objects asked for: the master, then each rung's playlist and
    first segment, then a v1 segment and the ledger, when stored (``objects``: stored keys)."""
    stored = set(objects)
    columns = [("master", keys.master)]
    rungs = sorted({r for k in stored if (r := keys.rung_name(k))})
    for rung in rungs:
        playlist = keys.rung_playlist(rung)
        if playlist in stored:
            columns.append((f"{rung} playlist", playlist))
        segments = sorted(
            k for k in stored if k.startswith(keys.rung_prefix(rung)) and k.endswith(".m4s")
        )
        if segments:
            columns.append((f"{rung} segment", segments[0]))
    v1 = sorted(k for k in stored if keys.is_v1_object(k) and k.endswith(".m4s"))
    if v1:
        columns.append(("v1 segment", v1[0]))
    if keys.ledger in stored:
        columns.append(("ledger", keys.ledger))
    return columns


def _cell(row: str, label: str, answer: Fetched | None, allowed: bool, why: str = "") -> dict:
    if answer is None:
        return {"row": row, "column": label, "verdict": "skip", "detail": why}
    media = looks_like_media(answer.body)
    if allowed:
        ok = answer.status in (200, 206) and bool(answer.body)
        want = "200/206"
    else:
        ok = answer.status == 403 and not media
        want = "403, no media"
    return {
        "row": row,
        "column": label,
        "url": answer.url,
        "status": answer.status,
        "bytes": len(answer.body),
        "content_type": answer.content_type,
        "media": media,
        "verdict": "pass" if ok else "fail",
        "detail": f"{answer.status}, {len(answer.body)} B"
        + (" (media)" if media else "")
        + ("" if ok else f"; expected {want}"),
    }


async def auth_matrix(
    client: GateClient,
    keys: GameKeys,
    objects: list[str],
    token: str,
    league: str,
    other_game: str,
    other_token: str | None,
) -> tuple[CriterionResult, dict[str, Any]]:
    """Run the matrix for game ``keys`` (module docstring); ``objects`` its stored keys,
    ``token`` its playback token, ``other_game``/``other_token`` another game's id and
    token (None: minted with the signing key, or the row skipped). Returns the criterion
    and the matrix as JSON (``rows``, ``columns``, ``cells`` row by row). Raises
    ``Unreachable`` when the gate cannot be reached at all."""
    columns = matrix_columns(keys, objects)
    signing = client.config.signing_key
    checks: list[SubCheck] = []
    first = await client.get("/" + keys.master, token=token)
    cookie, attributes = first.cookie, first.cookie_attributes
    checks.append(_cookie_check(keys.game_id, attributes))
    shapes: dict[str, dict[str, Any] | str] = {
        "none": {},
        "tampered": {"token": tamper(token)},
        "token": {"token": token},
        "cookie": {"cookie": cookie} if cookie else "the gate set no cookie",
    }
    if other_token is None and signing:
        other_token = issue_game_token(signing, other_game)
    shapes["other_game"] = {"token": other_token} if other_token else "no other game's token"
    shapes["cookie_replay"] = {"cookie": cookie, "other": True} if cookie else "no cookie to replay"
    no_key = "no signing key: cannot make this token (main.py profile set-token NAME gate)"
    if signing:
        shapes["expired"] = {"token": issue_game_token(signing, keys.game_id, ttl_s=-120)}
        others = [other_game] + ([f"not-{league}"] if league else [])
        shapes["ent_without"] = {"token": issue_session_token(signing, others)}
        shapes["ent_with"] = {"token": issue_session_token(signing, [keys.game_id])}
    else:
        shapes.update(expired=no_key, ent_without=no_key, ent_with=no_key)
    slots = asyncio.Semaphore(PARALLEL)

    async def ask(row: str, label: str, key: str) -> dict:
        shape = shapes[row]
        allowed = row in ALLOWED_ROWS
        if isinstance(shape, str):
            return _cell(row, label, None, allowed, shape)
        path = key
        if shape.get("other"):
            path = f"games/{other_game}/" + GameKeys.relative(keys, key)
        async with slots:
            answer = await client.get(
                "/" + path,
                token=shape.get("token"),
                cookie=shape.get("cookie"),
                byte_range=(0, 1023) if allowed else None,
            )
            if shape.get("other") and answer.status != 403:
                # control: is the other game's object protected at all? If it is open to
                # anyone, the replay proves nothing about this game's cookie
                control = await client.get("/" + path)
                if control.status != 403:
                    why = f"{control.url} answers {control.status} with no credential at all"
                    return _cell(row, label, None, allowed, f"inconclusive: {why}")
        return _cell(row, label, answer, allowed)

    rows = [*DENIED_ROWS, *ALLOWED_ROWS]
    cells = await asyncio.gather(*(ask(r, label, key) for r in rows for label, key in columns))
    grid = [cells[i * len(columns) : (i + 1) * len(columns)] for i in range(len(rows))]
    for row, line in zip(rows, grid, strict=True):
        failed = [c for c in line if c["verdict"] == "fail"]
        skipped = [c for c in line if c["verdict"] == "skip"]
        name = f"{'deny' if row in DENIED_ROWS else 'allow'}.{row}"
        if failed:
            where = "; ".join(f"{c['column']} ({c['url']}): {c['detail']}" for c in failed[:3])
            checks.append(sub(name, False, f"{ROW_LABELS[row]}: {where}"))
        elif skipped and len(skipped) == len(line):
            checks.append(skip(name, f"{ROW_LABELS[row]}: {skipped[0]['detail']}"))
        else:
            statuses = sorted({str(c.get("status")) for c in line if "status" in c})
            checks.append(
                sub(name, True, f"{ROW_LABELS[row]}: {len(line)} objects, {'/'.join(statuses)}")
            )
    matrix = {
        "rows": [
            {"id": r, "label": ROW_LABELS[r], "expect": "deny" if r in DENIED_ROWS else "allow"}
            for r in rows
        ],
        "columns": [{"label": label, "key": key} for label, key in columns],
        "cells": grid,
        "other_game": other_game,
    }
    evidence = {
        "requests": len(cells),
        "refused_403": sum(1 for c in cells if c.get("status") == 403),
        "cookie": attributes,
        "other_game": other_game,
    }
    return judged("denied_no_media", checks, evidence), matrix


def _cookie_check(game_id: str, attributes: dict[str, str]) -> SubCheck:
    """The gate cookie's scope: ``Path=/games/{id}/``, ``HttpOnly``, a short ``Max-Age``."""
    if not attributes:
        return sub("cookie.scope", False, "the gate set no cookie on an authorized request")
    path = attributes.get("path", "")
    want = game_path(game_id)
    problems = []
    if path != want:
        problems.append(f"Path={path or '(none)'} (expected {want})")
    if attributes.get("httponly") != "true":
        problems.append("not HttpOnly")
    try:
        age = int(attributes.get("max-age", "0"))
    except ValueError:
        age = 0
    if not 0 < age <= 12 * COOKIE_TTL_S:
        problems.append(f"Max-Age {attributes.get('max-age', '(none)')} is not a short TTL")
    if problems:
        return sub("cookie.scope", False, "; ".join(problems))
    return sub("cookie.scope", True, f"Path={path}; HttpOnly; Max-Age={age}")
