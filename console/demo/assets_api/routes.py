"""The assets API's Flask app: bearer-token auth, the ``/api/video-assets`` endpoints, JSON
errors, cursors and the idempotent retry."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import sqlite3
import time
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from console.demo.assets_api.constants import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    READONLY_TOKEN,
    RETRYABLE_STATUSES,
    STATUSES,
    log,
)
from console.demo.assets_api.store import Database, asset_json, event_json, insert_event
from console.demo.assets_api.times import iso_utc, parse_iso


class _ApiError(Exception):
    """An error answer: HTTP ``status`` with body ``{"error": message, **extra}``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": message, **extra}


def _json_response(status: int, doc: Any, **headers: str) -> Response:
    return _raw_response(status, json.dumps(doc), **headers)


def _raw_response(status: int, body: str, **headers: str) -> Response:
    response = Response(body, status=status, mimetype="application/json")
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = value
    return response


def _encode_cursor(updated_at: str, asset_id: str) -> str:
    raw = json.dumps([updated_at, asset_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError):
        raise _ApiError(400, "invalid cursor") from None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(part, str) for part in value)
    ):
        raise _ApiError(400, "invalid cursor")
    return value[0], value[1]


def _time_param(name: str) -> str | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    try:
        return iso_utc(parse_iso(value))
    except (ValueError, OverflowError, OSError):
        raise _ApiError(400, f"{name!r} is not an ISO-8601 time: {value!r}") from None


def create_app(db: Database, token: str) -> Flask:
    """The assets API's Flask app over ``db``: ``token`` may read and retry, ``READONLY_TOKEN``
    may only read; anything else is 401."""
    app = Flask("console.demo.assets_api")

    @app.before_request
    def authenticate() -> Response | None:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            return _json_response(401, {"error": "missing bearer token"}, WWW_Authenticate="Bearer")
        if hmac.compare_digest(value.encode(), token.encode()):
            g.read_only = False
        elif hmac.compare_digest(value.encode(), READONLY_TOKEN.encode()):
            g.read_only = True
        else:
            return _json_response(
                401,
                {"error": "invalid bearer token"},
                WWW_Authenticate='Bearer error="invalid_token"',
            )
        return None

    @app.errorhandler(_ApiError)
    def api_error(err: _ApiError) -> Response:
        return _json_response(err.status, err.body)

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Response:
        return _json_response(err.code or 500, {"error": err.description or err.name})

    @app.errorhandler(Exception)
    def unexpected(err: Exception) -> Response:
        log.exception("assets API: %s %s failed", request.method, request.path)
        return _json_response(500, {"error": f"internal error: {type(err).__name__}"})

    _Endpoints(db).register(app)
    return app


class _Endpoints:
    """The views of the ``/api/video-assets`` endpoints over one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def register(self, app: Flask) -> None:
        """Add the endpoints' URL rules to ``app``."""
        app.add_url_rule("/api/video-assets", view_func=self._list, methods=["GET"])
        app.add_url_rule("/api/video-assets/retry", view_func=self._retry, methods=["POST"])
        app.add_url_rule("/api/video-assets/<post_id>", view_func=self._get, methods=["GET"])
        app.add_url_rule(
            "/api/video-assets/<post_id>/events", view_func=self._events, methods=["GET"]
        )

    def _list(self) -> Response:
        clauses: list[str] = []
        params: list[Any] = []
        status = request.args.get("status", "")
        if status:
            wanted = [s.strip() for s in status.split(",") if s.strip()]
            unknown = [s for s in wanted if s not in STATUSES]
            if unknown or not wanted:
                raise _ApiError(
                    400, f"unknown status {status!r}: expected one of {', '.join(STATUSES)}"
                )
            clauses.append(f"status IN ({', '.join('?' for _ in wanted)})")
            params += wanted
        error_code = request.args.get("error_code", "")
        if error_code:
            clauses.append("error_code = ?")
            params.append(error_code)
        since, until = _time_param("since"), _time_param("until")
        if since is not None:
            clauses.append("updated_at >= ?")
            params.append(since)
        if until is not None:
            clauses.append("updated_at < ?")
            params.append(until)
        text = request.args.get("q", "").strip()
        if text:
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern += "%"
            columns = ("post_id", "id", "owner_id", "source_url", "provider_job_id")
            columns += ("error_code", "error_message")
            clauses.append("(" + " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in columns) + ")")
            params += [pattern] * len(columns)
        raw_limit = request.args.get("limit", str(DEFAULT_LIMIT))
        try:
            limit = int(raw_limit)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            raise _ApiError(400, f"limit must be an integer from 1 to {MAX_LIMIT}: {raw_limit!r}")
        cursor = request.args.get("cursor", "")
        if cursor:
            after_time, after_id = _decode_cursor(cursor)
            clauses.append("(updated_at < ? OR (updated_at = ? AND id < ?))")
            params += [after_time, after_time, after_id]
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self.db.read() as conn:
            rows = conn.execute(
                f"SELECT * FROM video_assets {where} ORDER BY updated_at DESC, id DESC LIMIT ?",
                (*params, limit + 1),
            ).fetchall()
        page = rows[:limit]
        next_cursor = (
            _encode_cursor(page[-1]["updated_at"], page[-1]["id"]) if len(rows) > limit else None
        )
        return _json_response(
            200, {"items": [asset_json(r) for r in page], "next_cursor": next_cursor}
        )

    def _get(self, post_id: str) -> Response:
        with self.db.read() as conn:
            row = conn.execute("SELECT * FROM video_assets WHERE post_id = ?", (post_id,))
            row = row.fetchone()
        if row is None:
            raise _ApiError(404, f"no video asset for post {post_id!r}")
        return _json_response(200, asset_json(row))

    def _events(self, post_id: str) -> Response:
        with self.db.read() as conn:
            asset = conn.execute("SELECT id FROM video_assets WHERE post_id = ?", (post_id,))
            asset = asset.fetchone()
            if asset is None:
                raise _ApiError(404, f"no video asset for post {post_id!r}")
            rows = conn.execute(
                "SELECT * FROM video_processing_events WHERE asset_id = ? ORDER BY created_at, id",
                (asset["id"],),
            ).fetchall()
        return _json_response(200, {"events": [event_json(r) for r in rows]})

    def _retry(self) -> Response:
        if g.get("read_only", True):
            raise _ApiError(403, "this token may only read: retry needs the ops token")
        body = request.get_json(force=True, silent=True)
        if not isinstance(body, dict):
            raise _ApiError(400, 'the body must be a JSON object {"postId": "..."}')
        post_id = body.get("postId")
        if not isinstance(post_id, str) or not post_id.strip():
            raise _ApiError(400, "postId is missing or not a non-empty string")
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            raise _ApiError(400, "the Idempotency-Key header is required")
        if len(key) > 255:
            raise _ApiError(400, "the Idempotency-Key header is longer than 255 characters")
        with self.db.write() as conn:
            seen = conn.execute(
                "SELECT post_id, status_code, body FROM idempotency_keys WHERE key = ?", (key,)
            ).fetchone()
            if seen is not None:
                if seen["post_id"] != post_id:
                    raise _ApiError(
                        422,
                        f"Idempotency-Key {key!r} was already used for post {seen['post_id']!r}",
                    )
                return _raw_response(seen["status_code"], seen["body"], Idempotent_Replayed="true")
            status, doc = self._retry_locked(conn, post_id, key)
            text = json.dumps(doc)
            conn.execute(
                "INSERT INTO idempotency_keys (key, post_id, status_code, body, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (key, post_id, status, text, iso_utc(time.time())),
            )
        return _raw_response(status, text)

    def _retry_locked(
        self, conn: sqlite3.Connection, post_id: str, key: str
    ) -> tuple[int, dict[str, Any]]:
        row = conn.execute("SELECT * FROM video_assets WHERE post_id = ?", (post_id,)).fetchone()
        if row is None:
            return 404, {"error": f"no video asset for post {post_id!r}"}
        if row["status"] not in RETRYABLE_STATUSES:
            return 409, {
                "error": f"asset of post {post_id!r} is {row['status']}, not failed: not retried",
                "status": row["status"],
            }
        now = iso_utc(time.time())
        attempts = int(row["attempts"]) + 1
        conn.execute(
            "UPDATE video_assets SET status = 'retrying', attempts = ?, error_code = NULL,"
            " error_message = NULL, updated_at = ? WHERE id = ?",
            (attempts, now, row["id"]),
        )
        payload = {
            "idempotency_key": key,
            "requested_by": "ops-console",
            "attempt": attempts,
            "previous_error_code": row["error_code"],
        }
        insert_event(conn, row["id"], "retry_requested", "failed", "retrying", payload, now)
        updated = conn.execute("SELECT * FROM video_assets WHERE id = ?", (row["id"],))
        return 200, asset_json(updated.fetchone())
