"""The asyncio tasks a Qt controller started, kept referenced and cancellable together."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class TaskSet:
    """``spawn`` schedules a coroutine on the running (qasync) loop and keeps a reference
    until it is done (asyncio keeps only weak ones); ``cancel_all`` stops them all.

    A task that ends with an exception is reported at once to its loop's exception handler
    (``console.errors.install_loop_exception_handler``: the log and the operator), not left
    for asyncio to mention when the task is garbage-collected.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task:
        """Schedule ``coro`` on the running loop (raises ``RuntimeError`` when none runs:
        a task created outside the loop would never run)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        task.get_loop().call_exception_handler(
            {
                "message": f"task {task.get_name()} failed",
                "exception": task.exception(),
                "task": task,
            }
        )

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
