"""Async client of the SSAI cue service (docs/contracts.md §1.2) over httpx; no Qt.

``CueClient.start(channel, duration)`` asks for a manual ad break, ``.stop(channel)`` ends
the running one early (return to network); both answer the ad break state as an
``AdBreak``. ``channels()`` lists the channels the service offers (``GET /channels``, when
it has that endpoint).

**One break per intent.** Every POST carries an ``Idempotency-Key``: a fresh uuid4 unless
the caller passes one. A caller retrying the *same* intent (a double click, a retry after
a timeout) passes the key of the first attempt, and the service replays its first answer
instead of starting a second break. A POST is re-sent once by the client itself, with the
same key, only when no answer came at all (connection error or timeout).

**Errors** (``services.errors``, never an httpx exception), mapped by ``services.http_errors``;
messages name the method and path, never the host or the token: 401/403 ``AccessDenied``,
404 ``NotFound`` (unknown channel), 409 ``Conflict`` (a break already runs, or none to stop),
400/422 ``Rejected`` with the service's reason, 5xx ``UpstreamError``, no answer
``Unreachable``, a 2xx that is not the documented JSON ``BadResponse``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from services.errors import BadConfig, BadResponse, ServiceError, Unreachable
from services.http_errors import HttpApi, json_answer, request_error

log = logging.getLogger(__name__)

CUE_PATH = "/cue"
CHANNELS_PATH = "/channels"
#: seconds to wait before re-sending a POST that got no answer (same Idempotency-Key)
POST_RESEND_DELAY_S = 0.3
#: how messages name this API
CUE_API = HttpApi("cue service")
#: a cue's duration must be in (0, MAX_DURATION_S] seconds (the service's own rule)
MAX_DURATION_S = 600.0


@dataclass(frozen=True)
class PodItem:
    """One ad of the decision's pod: ``id``, ``duration`` in seconds, ``variants``
    bitrate (bits/s) → URL of that ad's rendition."""

    id: str
    duration: float
    variants: dict[int, str]


@dataclass(frozen=True)
class AdBreak:
    """The ad break state the service answers (docs/contracts.md §1.2).

    ``channel_id``; ``event_id`` (the SCTE-35 splice_event_id and the DATERANGE ID);
    ``source`` (``"manual"``); ``start_time``/``end_time`` (aware UTC datetimes: planned, or
    actual once ended early); ``duration`` in seconds; ``pod_id`` and ``items`` of the
    decision; ``created_at``; and when the service says so ``state`` (``scheduled``,
    ``active``, ``ended``), ``break_end_time`` (where content resumes in the playlists) and
    ``stopped_at``.
    """

    channel_id: str
    event_id: int
    source: str
    start_time: datetime
    duration: float
    end_time: datetime
    pod_id: str
    items: tuple[PodItem, ...]
    created_at: datetime | None = None
    state: str | None = None
    break_end_time: datetime | None = None
    stopped_at: datetime | None = None


@dataclass(frozen=True)
class CueResult:
    """The outcome of one POST: the ``ad_break``, the ``idempotency_key`` sent, whether the
    answer was a ``replayed`` first answer (the break already existed), the HTTP ``status``
    and ``answered_at`` (``time.monotonic()`` when the answer arrived, the origin of the
    verification's time-to-marker)."""

    ad_break: AdBreak
    idempotency_key: str
    replayed: bool
    status: int
    answered_at: float


def _time(value: Any, name: str, required: bool = True) -> datetime | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise BadResponse(f"the ad break state has no ISO-8601 {name}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadResponse(f"the ad break state's {name} {value!r} is not ISO-8601") from None
    if parsed.tzinfo is None:
        raise BadResponse(f"the ad break state's {name} {value!r} has no time zone")
    return parsed


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadResponse(f"the ad break state's {name} is not a number of seconds")
    return float(value)


def parse_ad_break(doc: Any) -> AdBreak:
    """The ``AdBreak`` of a JSON answer; raises ``BadResponse`` naming the field at fault."""
    if not isinstance(doc, dict):
        raise BadResponse("the ad break state is not a JSON object")
    event_id = doc.get("eventId")
    if isinstance(event_id, str) and event_id.isdigit():
        event_id = int(event_id)
    if isinstance(event_id, bool) or not isinstance(event_id, int):
        raise BadResponse("the ad break state has no integer eventId")
    decision = doc.get("decision") or {}
    if not isinstance(decision, dict) or not isinstance(decision.get("items", []), list):
        raise BadResponse("the ad break state's decision is not {podId, items}")
    items = []
    for item in decision.get("items", []):
        if not isinstance(item, dict) or not isinstance(item.get("variants", {}), dict):
            raise BadResponse("a decision item is not {id, duration, variants}")
        try:
            variants = {int(k): str(v) for k, v in item.get("variants", {}).items()}
        except ValueError:
            raise BadResponse("a decision item's variants are not keyed by bitrate") from None
        items.append(
            PodItem(
                str(item.get("id", "")), _seconds(item.get("duration"), "item duration"), variants
            )
        )
    channel = doc.get("channelId")
    if not isinstance(channel, str) or not channel:
        raise BadResponse("the ad break state has no channelId")
    return AdBreak(
        channel_id=channel,
        event_id=event_id,
        source=str(doc.get("source", "")),
        start_time=_time(doc.get("startTime"), "startTime"),
        duration=_seconds(doc.get("duration"), "duration"),
        end_time=_time(doc.get("endTime"), "endTime"),
        pod_id=str(decision.get("podId", "")),
        items=tuple(items),
        created_at=_time(doc.get("createdAt"), "createdAt", required=False),
        state=doc.get("state") if isinstance(doc.get("state"), str) else None,
        break_end_time=_time(doc.get("breakEndTime"), "breakEndTime", required=False),
        stopped_at=_time(doc.get("stoppedAt"), "stoppedAt", required=False),
    )


def new_idempotency_key() -> str:
    """A fresh Idempotency-Key (uuid4 text) for one operator intent."""
    return str(uuid.uuid4())


class CueClient:
    """Client of one cue service.

    ``base_url`` is the service root (``ssai_url``), ``token`` its Bearer token,
    ``timeout_s`` the seconds allowed per network operation. ``master_url(channel)`` is
    where viewers find the channel. Raises ``BadConfig`` for a non-http(s) URL or an empty
    token. The httpx client belongs to the event loop that first used it.
    """

    def __init__(self, base_url: str, token: str, *, timeout_s: float = 10.0) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise BadConfig(f"The cue service URL {base_url!r} is not an http(s) URL.")
        if not token:
            raise BadConfig("No cue service token is configured.")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout_s = float(timeout_s)
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"CueClient({self.base_url!r})"

    def master_url(self, channel: str) -> str:
        """``{ssai_url}/{channel}/master.m3u8`` (``channel`` as ``org/name``)."""
        return f"{self.base_url}/{channel.strip('/')}/master.m3u8"

    def _http(self) -> httpx.AsyncClient:
        if self._closed:
            raise ServiceError("The cue service client is closed.")
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = httpx.AsyncClient(
                base_url=self.base_url,
                headers={
                    "Authorization": f"Bearer {self._token}",
                    "Accept": "application/json",
                    "User-Agent": "video-ops-console",
                },
                timeout=httpx.Timeout(self.timeout_s),
                follow_redirects=False,
            )
            self._loop = loop
        return self._client

    async def start(
        self, channel: str, duration: float, *, idempotency_key: str | None = None
    ) -> CueResult:
        """Start a manual ad break of ``duration`` seconds on ``channel``.

        Pass the ``idempotency_key`` of an earlier attempt of the same intent to make sure
        at most one break starts. Raises ``ValueError`` for a duration outside (0, 600] s
        or an empty channel (nothing is sent), and the errors of the module docstring.
        """
        if not channel:
            raise ValueError("channel is empty")
        if not math.isfinite(duration) or not 0 < duration <= MAX_DURATION_S:
            raise ValueError(f"duration must be > 0 and ≤ {MAX_DURATION_S:g} s, not {duration}")
        body = {"channel": channel, "duration": duration}
        return await self._post(body, idempotency_key or new_idempotency_key())

    async def stop(self, channel: str, *, idempotency_key: str | None = None) -> CueResult:
        """End the running ad break on ``channel`` now (return to network at the next
        segment boundary). Raises ``Conflict`` when no break runs, and the module's
        errors."""
        if not channel:
            raise ValueError("channel is empty")
        body = {"channel": channel, "type": "stop"}
        return await self._post(body, idempotency_key or new_idempotency_key())

    async def _post(self, body: dict[str, Any], key: str) -> CueResult:
        what = f"POST {CUE_PATH}"
        response: httpx.Response | None = None
        for attempt in (1, 2):
            try:
                response = await self._http().post(
                    CUE_PATH, json=body, headers={"Idempotency-Key": key}
                )
                break
            except httpx.RequestError as exc:
                error = request_error(CUE_API, exc, what, timeout_s=self.timeout_s)
                if not isinstance(error, Unreachable):
                    raise error from exc
                if attempt == 1:
                    log.info("%s got no answer (%s); re-sending with the same key", what, error)
                    await asyncio.sleep(POST_RESEND_DELAY_S)
                    continue
                raise request_error(
                    CUE_API,
                    exc,
                    what,
                    timeout_s=self.timeout_s,
                    note=", also when re-sent with the same idempotency key; the cue may or "
                    "may not have been taken",
                ) from exc
        assert response is not None
        answered = time.monotonic()
        doc = json_answer(CUE_API, response, what, not_found="does not know this channel")
        try:
            ad_break = parse_ad_break(doc)
        except BadResponse as exc:
            raise BadResponse(f"The cue service answered {what} badly: {exc}.") from exc
        replayed = response.headers.get("Idempotent-Replayed", "").lower() == "true"
        return CueResult(ad_break, key, replayed, response.status_code, answered)

    async def channels(self) -> tuple[str, ...]:
        """The channel ids the service offers (``GET /channels`` →
        ``{"channels": [{"id": …}]}``). Raises the module's errors; ``NotFound`` when the
        service has no such endpoint (a profile then lists its channels itself)."""
        what = f"GET {CHANNELS_PATH}"
        try:
            response = await self._http().get(CHANNELS_PATH)
        except httpx.RequestError as exc:
            raise request_error(CUE_API, exc, what, timeout_s=self.timeout_s) from exc
        doc = json_answer(CUE_API, response, what, not_found="has no channel list")
        try:
            return tuple(str(row["id"]) for row in doc["channels"])
        except (KeyError, TypeError) as exc:
            raise BadResponse(f"The cue service answered {what} without a channel list.") from exc

    async def aclose(self) -> None:
        """Close the connections (idempotent); later calls raise ``ServiceError``."""
        self._closed = True
        client, loop = self._client, self._loop
        self._client = self._loop = None
        if client is not None and loop is asyncio.get_running_loop():
            await client.aclose()

    def close(self) -> None:
        """Close from synchronous code: scheduled on the client's loop when it runs, else
        the connections go with the client object (never raises)."""
        self._closed = True
        client, loop = self._client, self._loop
        self._client = self._loop = None
        if client is not None and loop is not None and loop.is_running() and not loop.is_closed():
            loop.call_soon_threadsafe(lambda: loop.create_task(client.aclose()))
