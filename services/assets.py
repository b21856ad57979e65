"""Async client of the video-assets API (docs/contracts.md §1.3) over httpx; no Qt.

``AssetsClient`` makes the API's requests: one page of the listing (filters, a cursor), one
asset, its processing events, and one retry with an ``Idempotency-Key``. Walking every page
and retrying many assets at once are ``services.assets_batch``.

Errors: the read methods raise the typed errors of ``services.errors`` only (never an
httpx exception), mapped by ``services.http_errors``; their messages say what happened and
on which endpoint (method and path, never the host or the token). ``retry`` never raises
for the asset's outcome: it returns a ``RetryResult`` instead.

Retries: GETs are idempotent and retried on 5xx answers and network failures, up to
``get_attempts`` attempts in all with a short backoff (0.2 s, then 0.6 s). A POST is never
retried on an HTTP answer; it is re-sent once, with the same ``Idempotency-Key``, only when
no answer came (connection error or timeout): the server then replays its first answer if
the first request did arrive, so the asset is retried at most once.

The token is sent as ``Authorization: Bearer …`` and appears in no message, log or repr.
The underlying ``httpx.AsyncClient`` is created on first use and belongs to the event loop
that used it (the CLI runs one ``asyncio.run`` per command, the GUI a qasync loop).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from services.assets_model import (
    Asset,
    AssetPage,
    AssetStatus,
    ProcessingEvent,
    RetryResult,
    parse_asset,
    parse_event,
)
from services.clock import iso_z
from services.errors import (
    AccessDenied,
    BadConfig,
    BadResponse,
    Conflict,
    NotFound,
    ServiceError,
    Unreachable,
)
from services.http_errors import HttpApi, json_answer, request_error, status_error

log = logging.getLogger(__name__)

LIST_PATH = "/api/video-assets"
RETRY_PATH = "/api/video-assets/retry"
#: seconds to wait before the 2nd, 3rd, … attempt of a GET (the last one repeats)
GET_BACKOFF_S = (0.2, 0.6)
#: seconds to wait before re-sending a POST that got no answer (same Idempotency-Key)
POST_RESEND_DELAY_S = 0.2

#: how messages name this API
ASSETS_API = HttpApi("assets API")
#: the outcome of ``retry`` for each error type of an answer (any other: ``"error"``)
RETRY_OUTCOMES: tuple[tuple[type[ServiceError], str], ...] = (
    (Conflict, "conflict"),
    (NotFound, "not_found"),
    (AccessDenied, "forbidden"),
)


def _query_time(value: datetime | str) -> str:
    """A ``since``/``until`` bound as ISO-8601 UTC with a ``Z`` (a naive ``datetime`` is
    taken as UTC; a string is sent as given)."""
    return value if isinstance(value, str) else iso_z(value, timespec="auto")


def _asset_path(post_id: str) -> str:
    if not isinstance(post_id, str) or not post_id:
        raise ValueError("post_id must be a non-empty string")
    return f"{LIST_PATH}/{quote(post_id, safe='')}"


def _attempts(count: int) -> str:
    return f"; {count} attempt{'s' if count > 1 else ''}"


class AssetsClient:
    """Client of one video-assets API.

    ``base_url``: the API's http(s) root (paths ``/api/video-assets…`` are appended);
    ``token``: the Bearer token; ``timeout_s``: seconds allowed per network operation
    (connect, each read or write); ``get_attempts``: attempts in all for a GET on 5xx or a
    network failure (≥ 1); ``transport``: an ``httpx.AsyncBaseTransport`` to use instead of
    the default one (it is closed with the client).

    Raises ``BadConfig`` when ``base_url`` is not an http(s) URL or ``token`` is empty.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = 10.0,
        get_attempts: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise BadConfig(f"The assets API URL {base_url!r} is not an http(s) URL.")
        if not token:
            raise BadConfig("No assets API token is configured.")
        if get_attempts < 1:
            raise ValueError("get_attempts must be at least 1")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout_s = float(timeout_s)
        self.get_attempts = int(get_attempts)
        self._transport = transport
        # built once here (off the event loop: loading the CA bundle takes ~0.2 s) and
        # shared by the per-loop httpx clients
        self._ssl = httpx.create_ssl_context() if transport is None else None
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._pending_close: set[asyncio.Task] = set()

    def __repr__(self) -> str:
        return f"AssetsClient({self.base_url!r})"

    @property
    def closed(self) -> bool:
        """True after ``aclose()``/``close()``: every later request raises ``ServiceError``."""
        return self._closed

    # -- plumbing ---------------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        """The httpx client of the running loop (created on first use). Raises
        ``ServiceError`` once closed."""
        if self._closed:
            raise ServiceError("The assets API client is closed.")
        loop = asyncio.get_running_loop()
        if self._client is not None and self._loop is not loop:
            # connections belong to the loop that opened them (one asyncio.run per command)
            self._forget_client()
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.base_url,
                headers={
                    "Authorization": f"Bearer {self._token}",
                    "Accept": "application/json",
                    "User-Agent": "video-ops-console",
                },
                timeout=httpx.Timeout(self.timeout_s),
                transport=self._transport,
                verify=self._ssl if self._ssl is not None else True,
                follow_redirects=False,
            )
            self._loop = loop
        return self._client

    def _forget_client(self) -> None:
        """Drop the client of another (finished) loop, closing it there if it can run."""
        client, loop = self._client, self._loop
        self._client = self._loop = None
        if client is None or loop is None or loop.is_closed():
            return
        if loop.is_running():
            asyncio.run_coroutine_threadsafe(client.aclose(), loop)

    async def _get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET ``path`` → decoded JSON, with the bounded retries on 5xx/network failures.

        Raises what ``services.http_errors.json_answer`` maps (``AccessDenied`` 401/403,
        ``NotFound`` 404, ``Conflict`` 409, ``Rejected`` 400/422, ``BadResponse`` for a
        redirect, another status or a body that is not JSON), ``UpstreamError`` (5xx after
        the retries), ``Unreachable`` (no answer after the retries).
        """
        what = f"GET {path}"
        failure: ServiceError | None = None
        for attempt in range(1, self.get_attempts + 1):
            try:
                response = await self._http().get(path, params=params)
            except httpx.RequestError as exc:
                failure = request_error(
                    ASSETS_API, exc, what, timeout_s=self.timeout_s, note=_attempts(attempt)
                )
                if not isinstance(failure, Unreachable):
                    raise failure from exc
            else:
                if response.status_code < 500:
                    return json_answer(ASSETS_API, response, what)
                failure = status_error(ASSETS_API, response, what, note=_attempts(attempt))
            if attempt < self.get_attempts:
                delay = GET_BACKOFF_S[min(attempt - 1, len(GET_BACKOFF_S) - 1)]
                log.info("%s failed (attempt %d), retrying in %.1f s", what, attempt, delay)
                await asyncio.sleep(delay)
        assert failure is not None
        raise failure

    # -- reads ------------------------------------------------------------------------------

    async def list_assets(
        self,
        *,
        status: AssetStatus | str | None = None,
        error_code: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        text: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> AssetPage:
        """One page of the ops listing (``GET /api/video-assets``).

        ``status``/``error_code`` filter exactly; ``since``/``until`` bound ``updated_at``
        (sent as ISO-8601 UTC, naive datetimes taken as UTC); ``text`` is a free-text
        search (``q``); ``limit`` the page size (≥ 1); ``cursor`` the previous page's
        ``next_cursor``.

        Raises ``AccessDenied``, ``NotFound``, ``UpstreamError``, ``Unreachable``,
        ``BadResponse`` (also when the JSON is not ``{items, next_cursor}`` of assets),
        ``Rejected`` (the server rejected a filter), ``ValueError`` (``limit`` < 1).
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        params: dict[str, Any] = {"limit": int(limit)}
        if status:
            params["status"] = str(status)
        if error_code:
            params["error_code"] = error_code
        if since is not None:
            params["since"] = _query_time(since)
        if until is not None:
            params["until"] = _query_time(until)
        if text:
            params["q"] = text
        if cursor:
            params["cursor"] = cursor
        what = f"GET {LIST_PATH}"
        doc = await self._get_json(LIST_PATH, params)
        if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
            raise BadResponse(f"The assets API answered {what} without an 'items' list.")
        next_cursor = doc.get("next_cursor")
        if next_cursor is not None and not isinstance(next_cursor, str):
            raise BadResponse(f"The assets API answered {what} with a non-string next_cursor.")
        try:
            items = tuple(parse_asset(row) for row in doc["items"])
        except BadResponse as exc:
            raise BadResponse(f"The assets API answered {what} with a bad asset: {exc}") from exc
        return AssetPage(items, next_cursor or None)

    async def get_asset(self, post_id: str) -> Asset:
        """The asset of ``post_id`` (``GET /api/video-assets/{postId}``).

        Raises ``NotFound`` (no such asset), ``AccessDenied``, ``UpstreamError``,
        ``Unreachable``, ``BadResponse``, ``ValueError`` (empty ``post_id``).
        """
        path = _asset_path(post_id)
        doc = await self._get_json(path)
        try:
            return parse_asset(doc)
        except BadResponse as exc:
            raise BadResponse(f"The assets API answered GET {path} badly: {exc}") from exc

    async def events(self, post_id: str) -> tuple[ProcessingEvent, ...]:
        """The processing events of ``post_id``, oldest first (sorted by ``created_at``;
        the server's order is kept for equal times).

        Raises ``NotFound``, ``AccessDenied``, ``UpstreamError``, ``Unreachable``,
        ``BadResponse`` (JSON not ``{events: [...]}`` of events), ``ValueError``.
        """
        path = f"{_asset_path(post_id)}/events"
        doc = await self._get_json(path)
        if not isinstance(doc, dict) or not isinstance(doc.get("events"), list):
            raise BadResponse(f"The assets API answered GET {path} without an 'events' list.")
        try:
            events = [parse_event(row) for row in doc["events"]]
        except BadResponse as exc:
            raise BadResponse(f"The assets API answered GET {path} badly: {exc}") from exc
        return tuple(sorted(events, key=lambda e: e.created_at))

    # -- retry ------------------------------------------------------------------------------

    async def retry(self, post_id: str, idempotency_key: str | None = None) -> RetryResult:
        """Ask the pipeline to process ``post_id`` again (``POST /api/video-assets/retry``).

        The request carries ``Idempotency-Key: idempotency_key`` (a new uuid4 when None; it
        is kept in the result). The POST is not retried on any HTTP answer. When no answer
        comes (connection error or timeout) it is re-sent once with the same key, which is
        safe: the server replays its first answer if the first request did arrive.

        Never raises for the asset's outcome; the result's ``outcome`` is ``"retried"``
        (200, with the asset), ``"conflict"`` (409: its status changed meanwhile,
        ``current_status`` from the answer), ``"not_found"`` (404), ``"forbidden"``
        (401/403) or ``"error"`` (5xx, other statuses, no answer, malformed answer).
        Raises ``ServiceError`` only when the client is closed, ``ValueError`` for an empty
        ``post_id``.
        """
        if not isinstance(post_id, str) or not post_id:
            raise ValueError("post_id must be a non-empty string")
        key = idempotency_key or str(uuid.uuid4())
        what = f"POST {RETRY_PATH}"

        def result(outcome: str, message: str, **extra: Any) -> RetryResult:
            return RetryResult(post_id, outcome, message, idempotency_key=key, **extra)

        response: httpx.Response | None = None
        for attempt in (1, 2):
            try:
                response = await self._http().post(
                    RETRY_PATH, json={"postId": post_id}, headers={"Idempotency-Key": key}
                )
                break
            except httpx.RequestError as exc:
                failure = request_error(ASSETS_API, exc, what, timeout_s=self.timeout_s)
                if attempt == 1 and isinstance(failure, Unreachable):
                    log.info("%s got no answer (%s); re-sending with the same key", what, failure)
                    await asyncio.sleep(POST_RESEND_DELAY_S)
                    continue
                if isinstance(failure, Unreachable):
                    failure = request_error(
                        ASSETS_API,
                        exc,
                        what,
                        timeout_s=self.timeout_s,
                        note=", also when re-sent with the same idempotency key; the retry "
                        "may not have been recorded",
                    )
                return result("error", str(failure))
        assert response is not None
        code = response.status_code
        later = "; try again later" if code >= 500 else ""
        refused = status_error(ASSETS_API, response, what, note=later)
        if refused is None:
            try:
                asset = parse_asset(response.json())
            except (ValueError, BadResponse) as exc:
                return result(
                    "error",
                    f"The assets API accepted the retry (HTTP {code}) but its answer is not "
                    f"an asset: {exc}",
                )
            return result("retried", f"Retry requested (status {asset.status}).", asset=asset)
        if isinstance(refused, Conflict):
            status = refused.current_status
            changed = f"status changed to {status}" if status else "status changed"
            return result(
                "conflict",
                f"Not retried: {changed} meanwhile: refresh and look before retrying.",
                current_status=status,
            )
        outcome = next((o for t, o in RETRY_OUTCOMES if isinstance(refused, t)), "error")
        text = str(refused)
        return result(outcome, f"Not retried: {text[:1].lower()}{text[1:]}")

    # -- closing ----------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connections (idempotent). Later requests raise ``ServiceError``."""
        self._closed = True
        client, loop = self._client, self._loop
        self._client = self._loop = None
        if client is None:
            return
        if loop is asyncio.get_running_loop():
            await client.aclose()
        elif loop is not None and loop.is_running() and not loop.is_closed():
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(client.aclose(), loop))
        # else: its loop is gone; its sockets go with the client object

    def close(self) -> None:
        """Close from synchronous code (idempotent, never raises).

        On the loop that used the client, the closing is scheduled as a task; with no
        running loop, the client is closed in a short-lived loop of its own (best effort:
        connections opened by a loop that has ended are released when collected). Prefer
        ``await aclose()`` on the loop that used the client.
        """
        self._closed = True
        client, loop = self._client, self._loop
        if client is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None and running is loop:
            task = running.create_task(self.aclose())
            self._pending_close.add(task)
            task.add_done_callback(self._pending_close.discard)
            return
        self._client = self._loop = None
        if running is None:
            # a private loop: asyncio.run would reset the thread's current loop (qasync's)
            private = asyncio.new_event_loop()
            try:
                private.run_until_complete(asyncio.wait_for(client.aclose(), 2.0))
            except Exception:
                log.debug("closing the assets client outside its loop failed", exc_info=True)
            finally:
                private.close()
        elif loop is not None and loop.is_running() and not loop.is_closed():
            asyncio.run_coroutine_threadsafe(client.aclose(), loop)
