"""`python main.py cue …`: start or stop a manual ad break and verify it on every variant
of the live playlist; list the channels; show or export the audit log.

``cue start --channel C --duration S [--yes] [--wait]`` asks first (a production profile
asks for the channel name to be typed), sends one request with one idempotency key, then
prints each variant's verification: marker seen (time, SCTE-35), and with ``--wait`` the
return to content (CUE-IN drift) and the segments after it. ``cue stop --channel C`` ends
the running break and verifies the return on every variant. Exit codes: 0 verified,
1 refused or not verified, 2 unusable (no cue service, no confirmation possible).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from console.context import AppContext, open_context
from console.ops.cue_audit import CueAudit
from services.cue_verify import VariantReport, verify_break
from services.cues import CueResult, new_idempotency_key
from services.errors import ServiceError, describe


def add_cue_parser(commands) -> None:
    """The ``cue`` sub-commands on ``commands`` (an argparse subparsers object)."""
    cue = commands.add_parser("cue", help="manual ad breaks on live channels")
    cue_cmd = cue.add_subparsers(dest="cue_command", required=True)
    start = cue_cmd.add_parser("start", help="start an ad break and verify it on every variant")
    start.add_argument("--channel", required=True, help="channel id, e.g. demo/sports1")
    start.add_argument("--duration", type=float, required=True, help="seconds, 1 to 600")
    start.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    start.add_argument(
        "--wait", action="store_true", help="also watch the return to content (CUE-IN, drift)"
    )
    stop = cue_cmd.add_parser("stop", help="end the running break now and verify the return")
    stop.add_argument("--channel", required=True)
    cue_cmd.add_parser("channels", help="the channels this profile may cue")
    log = cue_cmd.add_parser("log", help="the audit log of cues (newest first)")
    log.add_argument("--csv", metavar="PATH", help="write the whole log as CSV to PATH")
    log.add_argument("--limit", type=int, default=30)


def _confirm(context: AppContext, channel: str, duration: float) -> bool:
    profile = context.profile
    where = "the DEMO stack" if profile.is_demo else f"profile {profile.name} (PRODUCTION)"
    print(f"Start a {duration:g} s ad break on {channel}, on {where}.")
    try:
        if profile.is_demo:
            answer = input("Start it? [y/N] ").strip().lower()
            return answer in ("y", "yes")
        return input(f"Type the channel name ({channel}) to confirm: ").strip() == channel
    except EOFError:
        return False


def _print_update(report: VariantReport) -> None:
    print(f"  {report.describe()}", flush=True)


async def _verify(context: AppContext, channel: str, result: CueResult, wait: bool):
    return await verify_break(
        context.cues.master_url(channel),
        result.ad_break,
        answered_at=result.answered_at,
        watch_end=wait,
        on_update=_print_update,
    )


async def _send(context: AppContext, audit: CueAudit, channel: str, action: str,
                duration: float | None) -> tuple[CueResult, int] | None:
    """One POST /cue (start when ``duration`` is given, else stop) with a fresh
    idempotency key, audited either way; returns the answer and its audit row, or None
    after printing why the service refused."""
    key = new_idempotency_key()
    try:
        if duration is None:
            result = await context.cues.stop(channel, idempotency_key=key)
        else:
            result = await context.cues.start(channel, duration, idempotency_key=key)
    except (ServiceError, ValueError) as exc:
        audit.record(profile=context.profile.name, channel=channel, action=action,
                     duration=duration, event_id=None, idempotency_key=key,
                     outcome=f"refused: {exc}")  # fmt: skip
        print(describe(exc), file=sys.stderr)
        return None
    row = audit.record(
        profile=context.profile.name, channel=channel, action=action, duration=duration,
        event_id=result.ad_break.event_id, idempotency_key=key,
        outcome="replayed" if result.replayed else "accepted",
    )  # fmt: skip
    return result, row


async def _verify_and_report(context: AppContext, audit: CueAudit, channel: str,
                             sent: tuple[CueResult, int], watch_end: bool) -> int:
    """Verify the break on every variant, record the verdict, print it; the exit code."""
    result, row = sent
    verification = await _verify(context, channel, result, watch_end)
    audit.set_verification(row, verification.ok, verification.summary())
    print("Result per variant:")
    for report in verification.variants:
        print(f"  {report.describe()}")
    print(verification.summary())
    return 0 if verification.ok else 1


async def _start(context: AppContext, audit: CueAudit, args: argparse.Namespace) -> int:
    channel, duration = args.channel, args.duration
    if not args.yes and not _confirm(context, channel, duration):
        print("No break started.")
        return 1
    sent = await _send(context, audit, channel, "start", duration)
    if sent is None:
        return 1
    ad_break = sent[0].ad_break
    print(
        f"Break {ad_break.event_id} on {ad_break.channel_id}: {ad_break.duration:g} s, "
        f"{ad_break.start_time:%H:%M:%S} → {ad_break.end_time:%H:%M:%S} UTC, pod "
        f"{ad_break.pod_id} ({len(ad_break.items)} ads). Verifying every variant…",
        flush=True,
    )
    return await _verify_and_report(context, audit, channel, sent, args.wait)


async def _stop(context: AppContext, audit: CueAudit, channel: str) -> int:
    sent = await _send(context, audit, channel, "stop", None)
    if sent is None:
        return 1
    ad_break = sent[0].ad_break
    print(
        f"Break {ad_break.event_id} on {channel} ends at {ad_break.end_time:%H:%M:%S} UTC "
        f"({ad_break.duration:g} s in all). Verifying the return on every variant…",
        flush=True,
    )
    return await _verify_and_report(context, audit, channel, sent, True)


async def _channels(context: AppContext) -> int:
    channels = context.profile.channels or await context.cues.channels()
    for channel in channels:
        print(f"{channel}  {context.cues.master_url(channel)}")
    return 0


def _log(audit: CueAudit, args: argparse.Namespace) -> int:
    if args.csv:
        count = audit.export_csv(Path(args.csv))
        print(f"{count} audit {'entry' if count == 1 else 'entries'} written to {args.csv}")
        return 0
    for e in audit.entries(args.limit):
        verdict = {None: "-", True: "verified", False: "NOT verified"}[e.verified]
        duration = f"{e.duration:g}s" if e.duration is not None else "-"
        print(f"{e.at}  {e.operator:10} {e.profile:10} {e.channel:16} {e.action:5} "
              f"{duration:6} {e.event_id or '-'!s:12} {e.outcome:10} {verdict}")  # fmt: skip
    return 0


async def run_cues(args: argparse.Namespace) -> int:
    """``cue start|stop|channels|log``; 0 done and verified, 1 failed, 2 unusable."""
    audit = CueAudit()
    if args.cue_command == "log":
        return _log(audit, args)
    if args.cue_command == "start" and not args.yes and not sys.stdin.isatty():
        print("Refusing to start a break without confirmation: no terminal to ask on. "
              "Re-run with --yes.", file=sys.stderr)  # fmt: skip
        return 2
    context = await open_context(args.profile)
    try:
        if context.cues is None:
            print(f"The cue service is not available: {context.cues_problem}.", file=sys.stderr)
            return 2
        try:
            if args.cue_command == "start":
                return await _start(context, audit, args)
            if args.cue_command == "stop":
                return await _stop(context, audit, args.channel)
            return await _channels(context)
        except ServiceError as exc:
            print(describe(exc), file=sys.stderr)
            return 1
    finally:
        await context.aclose()
