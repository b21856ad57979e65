"""The asyncio tasks a Qt controller started, kept referenced and cancellable together."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class TaskSet:
    """``spawn`` schedules a coroutine on the running (qasync) loop and keeps a reference
    until it is done (asyncio keeps only weak ones); ``cancel_all`` stops them all."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
