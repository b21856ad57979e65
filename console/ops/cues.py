"""Manual ad breaks, one flow for the GUI (``console.gui.cue_controller``) and the CLI
(``console.cli.cues``): send a start or stop with an idempotency key, audit it whatever the
answer, verify the break on every variant of the live playlist, audit the verdict.

Idempotency (docs/contracts.md §1.2): every POST carries an ``Idempotency-Key``. An operator
*intent* (start 30 s on ``demo/sports1``; stop ``demo/sports1``) keeps its key until the
service has answered for sure: a retry after a timeout or a 5xx re-sends the same key, so
at most one break starts however often the button is pressed. An answer that proves the
service decided (``DEFINITIVE``: 400/422, 409, 404) or a success retires the key; the next
press is a new intent.

Audit writes (SQLite, ``console.ops.cue_audit``) run in worker threads: the GUI thread
never waits on the disk.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from console.context import AppContext
from console.ops.cue_audit import CueAudit
from services.cue_reports import VariantReport, Verification, VerifyOptions
from services.cue_verify import verify_break
from services.cues import CueResult, new_idempotency_key
from services.errors import Conflict, NotFound, Rejected

#: answers that prove the service decided: a new intent is needed to try again
DEFINITIVE = (Rejected, Conflict, NotFound)


class CueAction(StrEnum):
    """What an operator asks of a channel (the audit log's ``action`` column)."""

    START = "start"
    STOP = "stop"


@dataclass(frozen=True)
class CueIntent:
    """One operator intent: ``action`` on ``channel`` (``org/channel``); ``duration`` in
    seconds for a start (None for a stop)."""

    action: CueAction
    channel: str
    duration: float | None = None

    def describe(self) -> str:
        """``"a 30 s break on demo/sports1"`` / ``"the break on demo/sports1"``."""
        if self.action is CueAction.START:
            return f"a {self.duration:g} s break on {self.channel}"
        return f"the break on {self.channel}"


@dataclass
class PendingIntent:
    """An intent not yet answered for sure: ``key`` is re-sent by a retry;
    ``in_flight`` while its request runs."""

    key: str = field(default_factory=new_idempotency_key)
    in_flight: bool = False


@dataclass(frozen=True)
class SentCue:
    """The service's answer to an intent and the audit row that records it."""

    intent: CueIntent
    result: CueResult
    audit_row: int


def resolve_channel(text: str, known: list[str] | tuple[str, ...]) -> str:
    """The one ``org/channel`` that ``text`` names among ``known`` channels, resolved
    **before** anything is sent (a break sent to the service under a short name airs, but
    its verification would read the wrong playlist).

    ``text`` is a full id (``demo/sports1``) or a bare channel name (``sports1``) that
    matches the part after the ``/`` of exactly one known channel. Raises ``Rejected``
    naming the known channels when ``text`` is empty, unknown or ambiguous."""
    name = text.strip()
    listing = ", ".join(known) or "none"
    if not name:
        raise Rejected(f"No channel given. Channels of this profile: {listing}.")
    if name in known:
        return name
    matches = [c for c in known if c.rsplit("/", 1)[-1] == name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise Rejected(
            f"Channel {name!r} is ambiguous: {', '.join(matches)}. Name it as org/channel."
        )
    raise Rejected(f"Unknown channel {name!r}. Channels of this profile: {listing}.")


class CueDesk:
    """The ad-break operations of one session (``context.cues`` must be set).

    ``audit`` is the shared audit log; ``options`` the verification timings.
    """

    def __init__(
        self,
        context: AppContext,
        audit: CueAudit | None = None,
        options: VerifyOptions | None = None,
    ) -> None:
        self.context = context
        self.audit = audit or CueAudit()
        self.options = options or VerifyOptions()

    @property
    def client(self):
        """The cue service client; raises ``RuntimeError`` when the profile has none (check
        ``context.cues`` first and show ``context.cues_problem``)."""
        if self.context.cues is None:
            raise RuntimeError(f"no cue service: {self.context.cues_problem}")
        return self.context.cues

    async def channels(self) -> list[str]:
        """The channels this profile may cue: the profile's ``channels`` list, else the
        service's own. Raises ``ServiceError`` when the service cannot say."""
        if self.context.profile.channels:
            return list(self.context.profile.channels)
        return list(await self.client.channels())

    async def resolve(self, text: str) -> str:
        """``resolve_channel`` against this profile's ``channels()``. Raises ``Rejected``
        or the service's ``ServiceError`` when it cannot list its channels."""
        return resolve_channel(text, await self.channels())

    def master_url(self, channel: str) -> str:
        """The live multivariant playlist URL of ``channel``."""
        return self.client.master_url(channel)

    async def send(self, intent: CueIntent, key: str) -> SentCue:
        """POST the intent with idempotency ``key`` and audit the outcome (``accepted``,
        ``replayed``, or ``refused: <reason>``).

        Raises the client's ``ServiceError`` (after auditing it), ``Rejected`` for a request
        the client refuses to send (empty channel, duration out of range)."""
        try:
            if intent.action is CueAction.START:
                result = await self.client.start(
                    intent.channel, intent.duration, idempotency_key=key
                )
            else:
                result = await self.client.stop(intent.channel, idempotency_key=key)
        except ValueError as exc:
            await self._record(intent, None, key, f"refused: {exc}")
            raise Rejected(f"Not sent: {exc}.") from exc
        except Exception as exc:
            await self._record(intent, None, key, f"refused: {exc}")
            raise
        outcome = "replayed" if result.replayed else "accepted"
        row = await self._record(intent, result.ad_break.event_id, key, outcome)
        return SentCue(intent, result, row)

    async def verify(
        self,
        sent: SentCue,
        *,
        watch_end: bool = True,
        planned_end: Callable[[], datetime] | None = None,
        on_update: Callable[[VariantReport], None] | None = None,
    ) -> Verification:
        """Verify the break of ``sent`` on every variant (``services.cue_verify``) and
        attach the verdict to its audit row. Never raises for what it observes."""
        verification = await verify_break(
            self.master_url(sent.intent.channel),
            sent.result.ad_break,
            answered_at=sent.result.answered_at,
            watch_end=watch_end,
            options=self.options,
            planned_end=planned_end,
            on_update=on_update,
        )
        await asyncio.to_thread(
            self.audit.set_verification, sent.audit_row, verification.ok, verification.summary()
        )
        return verification

    async def _record(self, intent: CueIntent, event_id: int | None, key: str, outcome: str) -> int:
        return await asyncio.to_thread(
            functools.partial(
                self.audit.record,
                profile=self.context.profile.name,
                channel=intent.channel,
                action=intent.action.value,
                duration=intent.duration,
                event_id=event_id,
                idempotency_key=key,
                outcome=outcome,
            )
        )
