"""The one place errors reach the operator.

``install_excepthooks(show)`` and ``install_loop_exception_handler(loop, show)`` route every
uncaught exception (Qt slots, qasync tasks, worker threads) to ``show`` as the sentence of
``services.errors.describe`` (what happened, what to do), so no traceback reaches the
operator; the full traceback goes to the log file only.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Callable

from services.errors import describe

log = logging.getLogger("console")


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
