"""An HTTP client that sees the catalog the way a viewer does: the playback API, then the
gate with the game token or the cookie the gate set (docs/contracts.md §1.5).

No cookie jar is shared between games: every credential is sent explicitly, so an audit
knows exactly what each request carried. Token and cookie values stay inside this module's
objects; ``redact`` takes them out of every URL that goes into evidence or a log line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

import httpx

from services.errors import AccessDenied, BadResponse, NotFound, Unreachable
from services.viewer_tokens import COOKIE_NAME

MAX_BODY = 8 << 20
"""The most bytes read of one answer (segments are a few MB; more is not needed)."""
SECRET_PARAMS = ("token",)


@dataclass(frozen=True)
class ViewerConfig:
    """Where the viewer side is: ``url`` the origin serving ``/api/games/…`` and
    ``/games/…``; ``api_token`` the playback API's Bearer token; ``signing_key`` the HS256
    key (optional: without it the audit cannot make expired or session tokens, and says
    so). Secrets are kept out of ``repr``."""

    url: str
    api_token: str = field(default="", repr=False)
    signing_key: str = field(default="", repr=False)


def redact(url: str) -> str:
    """``url`` with the value of every ``token`` query parameter replaced by ``…``."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = "&".join(
        f"{quote(k, safe='')}={'…' if k in SECRET_PARAMS else quote(v, safe='')}"
        for k, v in parse_qsl(parts.query, True)
    )
    return urlunsplit(parts._replace(query=query))


@dataclass(frozen=True)
class Fetched:
    """One answer: ``status``, ``body`` (at most ``MAX_BODY`` bytes), ``content_type``,
    ``url`` (redacted), and of a ``Set-Cookie`` for the gate cookie its attributes
    (``path``, ``httponly``, ``max-age``…; never its value) and the value kept privately
    in ``cookie`` (excluded from ``repr``)."""

    status: int
    body: bytes
    content_type: str
    url: str
    cookie_attributes: dict[str, str] = field(default_factory=dict)
    cookie: str = field(default="", repr=False)

    def json(self) -> dict:
        """The body as a JSON object. Raises ``BadResponse``."""
        try:
            doc = json.loads(self.body)
        except ValueError:
            raise BadResponse(f"{self.url} answered {self.status} with no JSON body.") from None
        if not isinstance(doc, dict):
            raise BadResponse(f"{self.url} answered a JSON {type(doc).__name__}, not an object.")
        return doc


def looks_like_media(body: bytes) -> bool:
    """Whether ``body`` carries media or a playlist: ``#EXTM3U``, an ISO BMFF box
    (``ftyp``/``styp``/``moof``/``moov``/``mdat``/``sidx``) in its first bytes, an MPEG-TS
    sync byte pattern, or more than 4 KiB of anything (a refusal is a small JSON)."""
    head = body[:64]
    if head.lstrip().startswith(b"#EXTM3U") or len(body) > 4096:
        return True
    if any(box in head for box in (b"ftyp", b"styp", b"moof", b"moov", b"mdat", b"sidx")):
        return True
    return len(body) >= 189 and body[0] == 0x47 and body[188] == 0x47


class GateClient:
    """Async client of the viewer side (``config``); ``timeout_s`` bounds each request
    (seconds, httpx's connect/read/write/pool timeouts); ``aclose()`` when done."""

    def __init__(self, config: ViewerConfig, *, timeout_s: float = 20.0) -> None:
        self.config = config
        self.origin = config.url.rstrip("/")
        # a jar that keeps nothing: each request carries exactly the credential it is given
        jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
        self._http = httpx.AsyncClient(
            timeout=timeout_s, follow_redirects=False, trust_env=False, cookies=jar
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def url(self, path: str) -> str:
        """The absolute URL of a root-relative ``path`` on the viewer origin."""
        return path if "://" in path else f"{self.origin}/{path.lstrip('/')}"

    async def playback(self, game_id: str) -> tuple[str, str]:
        """``(manifest_url, token)`` from ``GET /api/games/{id}/playback``. Raises
        ``NotFound`` (404), ``AccessDenied`` (401/403), ``BadResponse``, ``Unreachable``."""
        answer = await self.get(
            f"/api/games/{game_id}/playback",
            headers={"Authorization": f"Bearer {self.config.api_token}"},
        )
        if answer.status == 404:
            raise NotFound(f"The playback API knows no game {game_id}.")
        if answer.status in (401, 403):
            raise AccessDenied(
                f"The playback API refused the console's API token (HTTP {answer.status})."
            )
        if answer.status != 200:
            raise BadResponse(f"The playback API answered HTTP {answer.status} for {game_id}.")
        doc = answer.json()
        url, token = doc.get("manifest_url"), doc.get("token")
        if not isinstance(url, str) or not isinstance(token, str) or not token:
            raise BadResponse("The playback API's answer has no manifest_url and token.")
        return url, token

    async def get(
        self,
        path_or_url: str,
        *,
        token: str | None = None,
        cookie: str | None = None,
        byte_range: tuple[int, int] | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> Fetched:
        """GET with exactly the credential given (``?token=`` and/or the gate cookie) and
        an optional ``Range: bytes=a-b``. Raises ``Unreachable`` (network)."""
        url = self.url(path_or_url)
        query = dict(params or {})
        if token is not None:
            query["token"] = token
        sent = dict(headers or {})
        if cookie is not None:
            sent["Cookie"] = f"{COOKIE_NAME}={cookie}"
        if byte_range is not None:
            sent["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
        request = self._http.build_request("GET", url, params=query or None, headers=sent)
        shown = redact(str(request.url))
        try:
            response = await self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise Unreachable(f"{shown} could not be fetched ({type(exc).__name__}).") from None
        try:
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= MAX_BODY:
                    break
        except httpx.HTTPError as exc:
            raise Unreachable(f"{shown} broke off ({type(exc).__name__}).") from None
        finally:
            await response.aclose()
        attributes, value = _gate_cookie(response.headers.get_list("set-cookie"))
        return Fetched(
            response.status_code,
            b"".join(chunks)[:MAX_BODY],
            response.headers.get("content-type", ""),
            shown,
            attributes,
            value,
        )


def _gate_cookie(headers: list[str]) -> tuple[dict[str, str], str]:
    """The attributes (lower-case names; flags as ``"true"``) and the value of the gate's
    cookie among ``Set-Cookie`` headers (RFC 6265 §5.2), else ``({}, "")``."""
    for header in headers:
        jar = SimpleCookie()
        try:
            jar.load(header)
        except Exception:  # a cookie the stdlib cannot read is not the gate's
            continue
        morsel = jar.get(COOKIE_NAME)
        if morsel is None:
            continue
        attributes = {k: str(v) for k, v in morsel.items() if v}
        for flag in ("httponly", "secure"):
            if flag in header.lower():
                attributes[flag] = "true"
        return attributes, morsel.value
    return {}, ""
