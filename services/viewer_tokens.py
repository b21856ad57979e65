"""The viewer-facing credentials of docs/contracts.md §1.5, as PyJWT HS256 tokens.

Three shapes, all JSON Web Tokens (RFC 7519) signed with HS256 (RFC 7518 §3.2) under the
one key shared by the playback API (which issues them) and the gate (which checks them):

- the **game token** ``{"game": id, "exp": …, "iat": …}``: what ``GET
  /api/games/{id}/playback`` returns; sent as ``?token=`` on the manifest;
- the **gate cookie** ``{"path": "/games/{id}/", "exp": …}``: the value of the cookie the
  gate sets on the first authorized request (``Path=/games/{id}/``, HttpOnly, short TTL,
  RFC 6265 §4.1); valid for request paths under its ``path`` claim only;
- the phase-2 **session token** ``{"ent": [game ids or leagues], "exp": …}``.

``exp`` and ``iat`` are NumericDate seconds since the epoch (RFC 7519 §2, §4.1.4, §4.1.6);
PyJWT rejects an ``exp`` in the past. Nothing here logs or returns a token in a message:
callers must keep token and cookie values out of logs, reports and job records.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import jwt

ALGORITHM = "HS256"
GAME_TOKEN_TTL_S = 600
"""Lifetime of a game token (seconds)."""
COOKIE_TTL_S = 300
"""Lifetime of the gate cookie (seconds): short, as §1.5 asks."""
COOKIE_NAME = "gate_session"
"""Name of the gate's per-game cookie (one per ``Path=/games/{id}/``)."""


class TokenRejected(Exception):
    """A token is not a valid credential; ``reason`` is one word for logs and 403 bodies:
    ``malformed``, ``signature``, ``expired`` or ``claims`` (never the token itself)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def game_path(game_id: str) -> str:
    """``/games/{id}/``: the URL path prefix of a game's objects (the cookie's Path)."""
    return f"/games/{game_id}/"


def _sign(key: str, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def issue_game_token(
    key: str, game_id: str, *, ttl_s: float = GAME_TOKEN_TTL_S, now: float | None = None
) -> str:
    """A game token for ``game_id`` valid ``ttl_s`` seconds from ``now`` (epoch seconds;
    default the clock). A negative ``ttl_s`` makes an already expired one (audits)."""
    issued = int(time.time() if now is None else now)
    return _sign(key, {"game": game_id, "iat": issued, "exp": issued + int(ttl_s)})


def issue_session_token(
    key: str, entitlements: Iterable[str], *, ttl_s: float = GAME_TOKEN_TTL_S
) -> str:
    """A phase-2 session token whose ``ent`` claim lists game ids and/or league names."""
    issued = int(time.time())
    claims = {"ent": list(entitlements), "iat": issued, "exp": issued + int(ttl_s)}
    return _sign(key, claims)


def issue_cookie(key: str, path: str, *, ttl_s: float = COOKIE_TTL_S) -> str:
    """The gate cookie's value for URL paths under ``path`` (``/games/{id}/``)."""
    issued = int(time.time())
    return _sign(key, {"path": path, "iat": issued, "exp": issued + int(ttl_s)})


def verify(key: str, token: str) -> dict[str, Any]:
    """The claims of ``token`` when its HS256 signature under ``key`` is right and it has
    not expired (RFC 7519 §4.1.4, ``exp`` required). Raises ``TokenRejected``."""
    try:
        claims = jwt.decode(
            token, key, algorithms=[ALGORITHM], options={"require": ["exp"]}, leeway=0
        )
    except jwt.ExpiredSignatureError:
        raise TokenRejected("expired") from None
    except jwt.InvalidSignatureError:
        raise TokenRejected("signature") from None
    except jwt.MissingRequiredClaimError:
        raise TokenRejected("claims") from None
    except jwt.InvalidTokenError:
        raise TokenRejected("malformed") from None
    if not isinstance(claims, dict):
        raise TokenRejected("claims")
    return claims


def token_grants(claims: Mapping[str, Any], game_id: str, league: str) -> bool:
    """Whether verified token ``claims`` give access to ``game_id`` (of ``league``): a game
    token naming it, or a session token whose ``ent`` lists the game or its league."""
    if claims.get("game") == game_id:
        return True
    ent = claims.get("ent")
    if isinstance(ent, list):
        return game_id in ent or (bool(league) and league in ent)
    return False


def cookie_grants(claims: Mapping[str, Any], request_path: str) -> bool:
    """Whether verified cookie ``claims`` cover ``request_path`` (under its ``path``)."""
    scope = claims.get("path")
    return isinstance(scope, str) and scope.startswith("/") and request_path.startswith(scope)


def tamper(token: str) -> str:
    """``token`` with its signature altered (the last signature characters changed), for
    audits: the header and claims stay as they were."""
    head, _, signature = token.rpartition(".")
    if not signature:
        return token + "x"
    flipped = "A" if signature[0] != "A" else "B"
    return f"{head}.{flipped}{signature[1:]}"
