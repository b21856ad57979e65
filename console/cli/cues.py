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

from console.cli.session import CliSession, Unusable
from console.context import AppContext
from console.ops.cue_audit import CueAudit
from console.ops.cues import CueAction, CueDesk, CueIntent, SentCue
from services.cue_reports import VariantReport
from services.cues import new_idempotency_key


def add_parser(commands) -> None:
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


async def _send_and_verify(desk: CueDesk, intent: CueIntent, watch_end: bool) -> int:
    """One POST with a fresh idempotency key (audited whatever the answer), then the
    verification on every variant (audited); prints both; returns the exit code.
    Raises the service's ``ServiceError`` after auditing the refusal."""
    sent = await desk.send(intent, new_idempotency_key())
    _announce(sent)
    verification = await desk.verify(sent, watch_end=watch_end, on_update=_print_update)
    print("Result per variant:")
    for report in verification.variants:
        print(f"  {report.describe()}")
    print(verification.summary())
    return 0 if verification.ok else 1


def _announce(sent: SentCue) -> None:
    ad_break = sent.result.ad_break
    if sent.intent.action is CueAction.START:
        print(
            f"Break {ad_break.event_id} on {ad_break.channel_id}: {ad_break.duration:g} s, "
            f"{ad_break.start_time:%H:%M:%S} → {ad_break.end_time:%H:%M:%S} UTC, pod "
            f"{ad_break.pod_id} ({len(ad_break.items)} ads). Verifying every variant…",
            flush=True,
        )
    else:
        print(
            f"Break {ad_break.event_id} on {sent.intent.channel} ends at "
            f"{ad_break.end_time:%H:%M:%S} UTC ({ad_break.duration:g} s in all). "
            "Verifying the return on every variant…",
            flush=True,
        )


async def _start(context: AppContext, desk: CueDesk, args: argparse.Namespace) -> int:
    channel, duration = await desk.resolve(args.channel), args.duration
    if not args.yes and not _confirm(context, channel, duration):
        print("No break started.")
        return 1
    intent = CueIntent(CueAction.START, channel, duration)
    return await _send_and_verify(desk, intent, args.wait)


async def _channels(desk: CueDesk) -> int:
    for channel in await desk.channels():
        print(f"{channel}  {desk.master_url(channel)}")
    return 0


def _log(audit: CueAudit, args: argparse.Namespace) -> int:
    if args.csv:
        count = audit.export_csv(Path(args.csv))
        print(f"{count} audit {'entry' if count == 1 else 'entries'} written to {args.csv}")
        return 0
    for e in audit.entries(args.limit):
        verdict = {None: "-", True: "verified", False: "NOT verified"}[e.verified]
        duration = f"{e.duration:g}s" if e.duration is not None else "-"
        print(
            f"{e.at}  {e.operator:10} {e.profile:10} {e.channel:16} {e.action:5} "
            f"{duration:6} {e.event_id or '-'!s:12} {e.outcome:10} {verdict}"
        )
    return 0


async def run_cues(args: argparse.Namespace) -> int:
    """``cue start|stop|channels|log``; 0 done and verified, 1 failed, 2 unusable."""
    audit = CueAudit()
    if args.cue_command == "log":
        return _log(audit, args)
    if args.cue_command == "start" and not args.yes and not sys.stdin.isatty():
        raise Unusable(
            "Refusing to start a break without confirmation: no terminal to ask on. "
            "Re-run with --yes."
        )
    async with CliSession(args.profile, needs="cues") as session:
        desk = CueDesk(session.context, audit)
        if args.cue_command == "start":
            return await _start(session.context, desk, args)
        if args.cue_command == "stop":
            channel = await desk.resolve(args.channel)
            return await _send_and_verify(desk, CueIntent(CueAction.STOP, channel), True)
        return await _channels(desk)
