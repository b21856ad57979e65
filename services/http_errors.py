"""One mapping from an httpx answer or failure to the typed errors of ``services.errors``.

Shared by the clients of the console's JSON APIs: the SSAI cue service (docs/contracts.md §1.2,
``services.cues``) and the video-assets API (docs/contracts.md §1.3, ``services.assets``). Both
contracts answer JSON, and an error answer may carry ``{"error": "<reason>"}`` (and, for a
409 of the assets API, ``{"status": "<current status>"}``). The mapping follows RFC 9110 §15:

========================  =====================================================
answer                    error
========================  =====================================================
2xx                       none (``json_answer`` decodes the body: not JSON →
                          ``BadResponse``)
3xx                       ``BadResponse`` (redirects are not followed: the
                          profile's URL is wrong)
401, 403                  ``AccessDenied``
404                       ``NotFound`` (``key`` = the method and path)
409                       ``Conflict`` (``current_status`` from the body's
                          ``status`` when it has one)
400, 422                  ``Rejected`` with the service's reason
5xx                       ``UpstreamError``
any other status          ``BadResponse`` (not in the contract)
connect error, timeout    ``Unreachable`` (``httpx.TransportError``)
a non-http(s) URL         ``BadConfig`` (``httpx.UnsupportedProtocol``)
other request failures    ``BadResponse`` (e.g. a body that does not decode)
========================  =====================================================

Messages name the API, the method and path (``what``, e.g. ``"POST /cue"``) and the HTTP
status; they never contain the host or the token. A caller adds what only it knows with
``note`` (e.g. ``"; 3 attempts"``), written just before the final period.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from services.errors import (
    AccessDenied,
    BadConfig,
    BadResponse,
    Conflict,
    NotFound,
    Rejected,
    ServiceError,
    Unreachable,
    UpstreamError,
)

__all__ = [
    "HttpApi",
    "body_json",
    "current_status",
    "json_answer",
    "request_error",
    "server_reason",
    "status_error",
    "transport_reason",
]

#: characters of the service's own reason kept in a message
REASON_CHARS = 300


@dataclass(frozen=True)
class HttpApi:
    """How messages name one API.

    ``name`` as it reads after "the" (``"cue service"``, ``"assets API"``; the token hint
    becomes "check the profile's {name} token"); ``not_found`` the predicate of its 404
    sentence, "The assets API found nothing (GET /api/video-assets/p1, HTTP 404)…" (an
    endpoint may say better, e.g. "does not know this channel").
    """

    name: str
    not_found: str = "found nothing"

    @property
    def subject(self) -> str:
        """``"The {name}"``, to open a sentence."""
        return f"The {self.name}"


def body_json(response: httpx.Response) -> Any:
    """The answer's JSON, or None when its body is not JSON (never raises)."""
    try:
        return response.json()
    except ValueError:
        return None


def server_reason(response: httpx.Response) -> str:
    """The service's own reason: the body's JSON ``error`` text (at most ``REASON_CHARS``
    characters), or ``""`` when the body has none."""
    body = body_json(response)
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"].strip()[:REASON_CHARS]
    return ""


def current_status(response: httpx.Response) -> str | None:
    """The body's JSON ``status`` text (a 409's status of the resource now, docs/contracts.md §1.3),
    or None."""
    body = body_json(response)
    if isinstance(body, dict) and isinstance(body.get("status"), str) and body["status"]:
        return body["status"]
    return None


def transport_reason(exc: httpx.HTTPError, timeout_s: float | None = None) -> str:
    """A short reason for a failure with no answer: ``no answer within 10 s (ReadTimeout)``
    for a timeout (``timeout_s`` in seconds, when known), else ``ConnectError: <text>``."""
    if isinstance(exc, httpx.TimeoutException) and timeout_s is not None:
        return f"no answer within {timeout_s:g} s ({type(exc).__name__})"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def status_error(
    api: HttpApi,
    response: httpx.Response,
    what: str,
    *,
    not_found: str | None = None,
    note: str = "",
) -> ServiceError | None:
    """The typed error of a non-2xx ``response`` to ``what`` (the table of the module
    docstring), or None for a 2xx. ``not_found`` replaces ``api.not_found`` for this
    endpoint. Returned, not raised: a caller that does not raise (a batch's per-item
    outcome) reads its type."""
    code = response.status_code
    if 200 <= code < 300:
        return None
    name, subject = api.name, api.subject
    reason = server_reason(response)
    because = f": {reason}" if reason else ""
    if code == 401:
        return AccessDenied(
            f"{subject} refused the token (HTTP 401) on {what}: check the profile's "
            f"{name} token{note}."
        )
    if code == 403:
        return AccessDenied(f"{subject} token is not allowed to {what} (HTTP 403){because}{note}.")
    if code == 404:
        missing = not_found or api.not_found
        return NotFound(f"{subject} {missing} ({what}, HTTP 404){because}{note}.", what)
    if code == 409:
        status = current_status(response)
        now = f"; its status is now {status}" if status else ""
        return Conflict(
            f"{subject} refused {what}: {reason or 'it changed meanwhile'}{now} (HTTP 409){note}.",
            status,
        )
    if code in (400, 422):
        return Rejected(f"{subject} rejected {what} (HTTP {code}){because}{note}.")
    if code >= 500:
        return UpstreamError(f"{subject} failed on {what} (HTTP {code}){because}{note}.")
    if 300 <= code < 400:
        return BadResponse(
            f"{subject} answered a redirect (HTTP {code}) to {what}: check the profile's "
            f"{name} URL{note}."
        )
    return BadResponse(
        f"{subject} answered {what} with HTTP {code}, which its contract does not "
        f"document{because}{note}."
    )


def json_answer(
    api: HttpApi, response: httpx.Response, what: str, *, not_found: str | None = None
) -> Any:
    """The decoded JSON of a 2xx ``response``. Raises the ``status_error`` of any other
    status (``not_found`` as there), ``BadResponse`` when the body is not JSON."""
    error = status_error(api, response, what, not_found=not_found)
    if error is not None:
        raise error
    try:
        return response.json()
    except ValueError as exc:
        raise BadResponse(f"{api.subject} answered {what} with invalid JSON.") from exc


def request_error(
    api: HttpApi,
    exc: httpx.RequestError,
    what: str,
    *,
    timeout_s: float | None = None,
    note: str = "",
) -> ServiceError:
    """The typed error of a request to ``what`` that got no usable answer: ``BadConfig``
    for a URL httpx cannot use (``UnsupportedProtocol``), ``Unreachable`` for a connect
    error or a timeout (``TransportError``; ``timeout_s`` seconds named when it timed out),
    ``BadResponse`` for the rest (e.g. a body that does not decode)."""
    if isinstance(exc, httpx.UnsupportedProtocol):
        return BadConfig(f"{api.subject} URL is not usable ({what}): {exc}{note}.")
    if isinstance(exc, httpx.TransportError):
        return Unreachable(
            f"Cannot reach the {api.name} ({what}): {transport_reason(exc, timeout_s)}{note}."
        )
    return BadResponse(
        f"{api.subject} answered {what} unreadably: {transport_reason(exc, timeout_s)}{note}."
    )
