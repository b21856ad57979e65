"""Async client of the video-assets API (DESIGN.md §1.3) over httpx; no Qt.

``AssetsClient`` lists assets (filters, cursor pagination), reads one asset and its
processing events, and retries failed assets with an ``Idempotency-Key`` per request.

Errors: the read methods raise the typed errors of ``services.errors`` only (never an
httpx exception); their messages say what happened and on which endpoint (method and path,
never the host or the token). ``retry``/``retry_many`` never raise for a per-asset outcome:
they return a ``RetryResult`` per asset instead.

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
import inspect
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
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
from services.errors import (
    AccessDenied,
    BadConfig,
    BadResponse,
    Conflict,
    NotFound,
    ServiceError,
    Unreachable,
    UpstreamError,
)

log = logging.getLogger(__name__)

LIST_PATH = "/api/video-assets"
RETRY_PATH = "/api/video-assets/retry"
#: seconds to wait before the 2nd, 3rd, … attempt of a GET (the last one repeats)
GET_BACKOFF_S = (0.2, 0.6)
#: seconds to wait before re-sending a POST that got no answer (same Idempotency-Key)
POST_RESEND_DELAY_S = 0.2

#: ``on_result`` callback of ``retry_many``: a plain function or a coroutine function
ResultCallback = Callable[[RetryResult], Any]


def iso_utc(value: datetime | str) -> str:
    """A time as ISO-8601 UTC with a ``Z`` suffix (``2026-11-01T12:00:00Z``).

    A naive ``datetime`` is taken as UTC; a string is sent as given.
    """
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _asset_path(post_id: str) -> str:
    if not isinstance(post_id, str) or not post_id:
        raise ValueError("post_id must be a non-empty string")
    return f"{LIST_PATH}/{quote(post_id, safe='')}"


def _body_json(response: httpx.Response) -> Any:
    """The answer's JSON, or None when it has none (never raises)."""
    try:
        return response.json()
    except ValueError:
        return None


def _server_detail(response: httpx.Response) -> str:
    """A short reason from the server's answer (its JSON ``error`` field), or ``""``."""
    body = _body_json(response)
    if isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]:
        return f": {body['error'][:200]}"
    return ""


def _status_from(response: httpx.Response) -> str | None:
    """The ``status`` field of a 409 answer (the asset's status now), when it has one."""
    body = _body_json(response)
    if isinstance(body, dict) and isinstance(body.get("status"), str) and body["status"]:
        return body["status"]
    return None


def _network_reason(exc: httpx.HTTPError, timeout_s: float) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout_s:g} s ({type(exc).__name__})"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


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

        Raises ``AccessDenied`` (401/403), ``NotFound`` (404), ``Conflict`` (409),
        ``UpstreamError`` (5xx after the retries), ``Unreachable`` (no answer after the
        retries), ``BadResponse`` (not JSON, or a redirect), ``ServiceError`` (other 4xx).
        """
        what = f"GET {path}"
        failure: ServiceError | None = None
        for attempt in range(1, self.get_attempts + 1):
            try:
                response = await self._http().get(path, params=params)
            except httpx.UnsupportedProtocol as exc:
                raise BadConfig(f"The assets API URL is not usable ({what}): {exc}") from exc
            except httpx.TransportError as exc:
                failure = Unreachable(
                    f"Cannot reach the assets API ({what}): "
                    f"{_network_reason(exc, self.timeout_s)}; "
                    f"{attempt} attempt{'s' if attempt > 1 else ''}."
                )
            else:
                if response.status_code < 500:
                    return self._decode(response, what)
                failure = UpstreamError(
                    f"The assets API failed on {what} (HTTP {response.status_code}"
                    f"{_server_detail(response)}); {attempt} "
                    f"attempt{'s' if attempt > 1 else ''}."
                )
            if attempt < self.get_attempts:
                delay = GET_BACKOFF_S[min(attempt - 1, len(GET_BACKOFF_S) - 1)]
                log.info("%s failed (attempt %d), retrying in %.1f s", what, attempt, delay)
                await asyncio.sleep(delay)
        assert failure is not None
        raise failure

    @staticmethod
    def _decode(response: httpx.Response, what: str) -> Any:
        """The JSON of a non-5xx answer, or the typed error of its status code."""
        code = response.status_code
        if code == 401:
            raise AccessDenied(
                f"The assets API refused the token (HTTP 401) on {what}: "
                "check the profile's assets API token."
            )
        if code == 403:
            raise AccessDenied(f"The assets API token is not allowed to {what} (HTTP 403).")
        if code == 404:
            raise NotFound(f"Not found on the assets API: {what} (HTTP 404).", what)
        if code == 409:
            status = _status_from(response)
            now = f" (status is now {status})" if status else ""
            raise Conflict(f"The asset changed meanwhile{now}: {what} answered HTTP 409.", status)
        if 300 <= code < 400:
            raise BadResponse(
                f"The assets API answered a redirect (HTTP {code}) to {what}: "
                "check the profile's assets API URL."
            )
        if code >= 400:
            raise ServiceError(
                f"The assets API rejected {what} (HTTP {code}{_server_detail(response)})."
            )
        try:
            return response.json()
        except ValueError as exc:
            raise BadResponse(f"The assets API answered {what} with invalid JSON.") from exc

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
        ``ServiceError`` (the server rejected a filter), ``ValueError`` (``limit`` < 1).
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        params: dict[str, Any] = {"limit": int(limit)}
        if status:
            params["status"] = str(status)
        if error_code:
            params["error_code"] = error_code
        if since is not None:
            params["since"] = iso_utc(since)
        if until is not None:
            params["until"] = iso_utc(until)
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

    async def iter_pages(self, **filters: Any) -> AsyncIterator[AssetPage]:
        """Every page of the listing for ``filters`` (the arguments of ``list_assets``;
        ``limit`` is the page size), following ``next_cursor`` until the last page.

        Raises what ``list_assets`` raises, and ``BadResponse`` when the server hands back a
        cursor it already gave (it would page forever).
        """
        cursor = filters.pop("cursor", None)
        seen: set[str] = {cursor} if cursor else set()
        while True:
            page = await self.list_assets(**filters, cursor=cursor)
            yield page
            if page.next_cursor is None:
                return
            if page.next_cursor in seen:
                raise BadResponse(
                    f"The assets API repeated a page cursor on GET {LIST_PATH}: "
                    "stopped paging to avoid a loop."
                )
            seen.add(page.next_cursor)
            cursor = page.next_cursor

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
            except httpx.UnsupportedProtocol as exc:
                return result("error", f"The assets API URL is not usable: {exc}.")
            except httpx.TransportError as exc:
                reason = _network_reason(exc, self.timeout_s)
                if attempt == 1:
                    log.info("%s got no answer (%s); re-sending with the same key", what, reason)
                    await asyncio.sleep(POST_RESEND_DELAY_S)
                    continue
                return result(
                    "error",
                    f"Cannot reach the assets API ({what}): {reason}, also when re-sent with "
                    "the same idempotency key; the retry may not have been recorded.",
                )
        assert response is not None
        code = response.status_code
        if code in (200, 201):
            body = _body_json(response)
            try:
                asset = parse_asset(body)
            except BadResponse as exc:
                return result(
                    "error",
                    f"The assets API accepted the retry (HTTP {code}) but its answer is not "
                    f"an asset: {exc}",
                )
            return result("retried", f"Retry requested (status {asset.status}).", asset=asset)
        if code == 409:
            status = _status_from(response)
            changed = f"status changed to {status}" if status else "status changed"
            return result(
                "conflict",
                f"Not retried: {changed} meanwhile: refresh and look before retrying.",
                current_status=status,
            )
        if code == 404:
            return result("not_found", "Not retried: no such asset (HTTP 404).")
        if code == 401:
            return result(
                "forbidden",
                "Not retried: the assets API refused the token (HTTP 401): check the "
                "profile's assets API token.",
            )
        if code == 403:
            return result(
                "forbidden",
                "Not retried: this token is not allowed to retry assets (HTTP 403).",
            )
        if code >= 500:
            return result(
                "error",
                f"Not retried: the assets API failed (HTTP {code}{_server_detail(response)}); "
                "try again later.",
            )
        return result(
            "error",
            f"Not retried: the assets API answered HTTP {code}{_server_detail(response)}.",
        )

    async def retry_many(
        self,
        post_ids: Iterable[str],
        *,
        concurrency: int = 4,
        on_result: ResultCallback | None = None,
    ) -> list[RetryResult]:
        """Retry several assets, each with its own idempotency key, at most ``concurrency``
        requests at a time.

        A post id given more than once is retried once: the list holds one result per
        distinct post id, in the order of their first appearance. ``on_result(result)``
        (a function or a coroutine function) is called as each request finishes; an
        exception in it is logged and does not stop the batch.

        Never raises for per-asset outcomes (see ``retry``); raises ``ServiceError`` if the
        client is closed, ``ValueError`` for ``concurrency`` < 1 or an empty post id.
        """
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        unique = list(dict.fromkeys(post_ids))
        for post_id in unique:
            if not isinstance(post_id, str) or not post_id:
                raise ValueError("post ids must be non-empty strings")
        gate = asyncio.Semaphore(concurrency)

        async def one(post_id: str) -> RetryResult:
            async with gate:
                outcome = await self.retry(post_id)
            if on_result is not None:
                try:
                    called = on_result(outcome)
                    if inspect.isawaitable(called):
                        await called
                except Exception:
                    log.exception("on_result failed for %s", post_id)
            return outcome

        tasks = [asyncio.ensure_future(one(post_id)) for post_id in unique]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            raise

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
