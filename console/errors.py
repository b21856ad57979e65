"""The one place errors become sentences for the operator.

``describe(exc)`` maps each service exception type to a message that says what happened
and what to do; ``install_excepthooks(show)`` routes every uncaught exception (Qt slots,
qasync tasks, worker threads) to ``show`` so no traceback reaches the operator; the full
traceback goes to the log file only.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable

from services.errors import (
    AccessDenied,
    BadConfig,
    BadResponse,
    Conflict,
    KeyringUnavailable,
    MediaError,
    NotFound,
    PlaylistError,
    PreconditionFailed,
    Rejected,
    ServiceError,
    Unreachable,
    UpstreamError,
)

log = logging.getLogger("console")

_ADVICE: tuple[tuple[type[BaseException], str], ...] = (
    (Unreachable, "Check the network and the profile's endpoint, then retry."),
    (AccessDenied, "Check the profile's keys or token in the keyring and its permissions."),
    (Conflict, "It changed meanwhile: refresh, look at its new state, then decide."),
    (UpstreamError, "The service is failing on its side; retry later or tell its on-call."),
    (BadResponse, "The service answered something unexpected; nothing was changed here."),
    (NotFound, "Refresh the catalog: the object may have been moved or never written."),
    (PlaylistError, "The playlist is malformed; it was not played. Inspect it in the detail."),
    (PreconditionFailed, "Someone changed it meanwhile: refresh and look before retrying."),
    (BadConfig, "Fix the profile (Profile menu) and try again."),
    (Rejected, "Nothing was changed: correct the request and send it again."),
    (MediaError, "The media cannot be decoded; run a spot-check on this game."),
    (KeyringUnavailable, "Secrets are kept for this session only."),
)


def describe(exc: BaseException) -> str:
    """One readable paragraph for ``exc``: what happened, then what to do."""
    if isinstance(exc, ServiceError):
        advice = next((a for t, a in _ADVICE if isinstance(exc, t)), "")
        return f"{exc} {advice}".strip()
    if isinstance(exc, TimeoutError):
        return "The operation timed out. Check the network and retry."
    if isinstance(exc, OSError):
        return f"System error: {exc.strerror or exc}."
    return f"Unexpected error ({type(exc).__name__}: {exc}). Details are in the log file."


def install_excepthooks(show: Callable[[str], None]) -> None:
    """Send uncaught exceptions of the main thread and of worker threads to ``show``
    (called on the thread that failed: ``show`` must be thread-safe, e.g. emit a signal)."""

    def main_hook(kind, value, tb) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        log.error("uncaught exception", exc_info=(kind, value, tb))
        show(describe(value))

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        log.error(
            "uncaught exception in thread %s",
            args.thread.name if args.thread else "?",
            exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
        )
        show(describe(args.exc_value))

    sys.excepthook = main_hook
    threading.excepthook = thread_hook


def install_loop_exception_handler(
    loop: asyncio.AbstractEventLoop, show: Callable[[str], None]
) -> None:
    """Route exceptions asyncio reports (a task that died, a failing callback) to the log
    with their traceback and to ``show`` as a sentence, instead of asyncio's default of a
    log line at garbage-collection time that the operator never sees."""

    def handler(_loop: asyncio.AbstractEventLoop, context: dict) -> None:
        exc = context.get("exception")
        where = context.get("task") or context.get("future") or context.get("handle")
        message = context.get("message", "asyncio error")
        if exc is None:
            log.error("%s (%r)", message, where)
            return
        log.error("%s (%r)", message, where, exc_info=(type(exc), exc, exc.__traceback__))
        show(describe(exc))

    loop.set_exception_handler(handler)
