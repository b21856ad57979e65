"""Small operation objects for the controllers (after Anki's ``QueryOp``): spawn a coroutine
on the qasync loop with a success and a failure handler; a failure nobody handles reaches
the one error display.

A controller owns one ``Operations`` built with its ``error`` signal's ``emit``::

    self._ops = Operations(self.error.emit)
    self._ops.run(self.context.catalog.detail(game_id), success=self.detail_loaded.emit)

- success: ``success(result)`` runs on the GUI thread when the coroutine returns;
- expected failure (a ``ServiceError``, an ``OSError``, a ``sqlite3.Error``: the store, a
  service, a file or a local database said no): ``failure(exc)`` when given, else the
  operator reads ``"{what}: {describe(exc)}"`` (what happened, what to do);
- anything else is a bug: the loop's exception handler logs its traceback and shows a
  sentence (``console.errors.install_loop_exception_handler``);
- cancellation (``cancel_all`` at shutdown, a newer listing replacing an older one) is
  silent.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from services.errors import ServiceError, describe

T = TypeVar("T")

#: failures of the outside world, shown to the operator; anything else is a bug
EXPECTED_FAILURES: tuple[type[BaseException], ...] = (ServiceError, OSError, sqlite3.Error)


def failure_sentence(exc: BaseException, what: str = "") -> str:
    """The operator's sentence for an expected failure, prefixed by ``what`` failed."""
    if isinstance(exc, sqlite3.Error):
        text = f"A local database failed: {exc}. Check the disk, then retry."
    else:
        text = describe(exc)
    return f"{what}: {text}" if what else text


class Operations:
    """The operations one controller started: referenced until done (asyncio keeps only
    weak references to tasks) and cancellable together. ``on_error(str)`` shows a sentence
    (thread-safe: typically a Qt signal's ``emit``)."""

    def __init__(self, on_error: Callable[[str], None]) -> None:
        self._on_error = on_error
        self._tasks: set[asyncio.Task] = set()

    def run(
        self,
        work: Coroutine[Any, Any, T],
        *,
        success: Callable[[T], Any] | None = None,
        failure: Callable[[BaseException], Any] | None = None,
        what: str = "",
    ) -> asyncio.Task:
        """Schedule ``work`` on the running loop; see the module docstring for the handlers.

        Returns the task (cancel it to stop the operation). Raises ``RuntimeError`` when no
        loop runs (a task created outside the loop would never run)."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(t, success, failure, what))
        return task

    def _done(self, task: asyncio.Task, success, failure, what: str) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            if success is not None:
                success(task.result())
            return
        if isinstance(exc, EXPECTED_FAILURES):
            if failure is not None:
                failure(exc)
            else:
                self._on_error(failure_sentence(exc, what))
            return
        task.get_loop().call_exception_handler(
            {
                "message": f"operation {what or task.get_name()} failed",
                "exception": exc,
                "task": task,
            }
        )

    @property
    def running(self) -> int:
        """How many operations have not finished yet."""
        return len(self._tasks)

    def cancel_all(self) -> None:
        """Cancel every operation not finished yet (their handlers do not run)."""
        for task in list(self._tasks):
            task.cancel()
