"""Helpers for GUI tests: a qasync loop inside pytest-qt, and a real console on a profile."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import qasync
from PySide6.QtCore import QCoreApplication

from console.context import SSAI_TOKEN
from console.profiles import ACCESS_KEY_ID, SECRET_ACCESS_KEY, Profile, save_profile
from services.credentials import CredentialStore
from services.storage import StorageConfig


def install_loop(qapp) -> qasync.QEventLoop:
    """A qasync loop that runs while pytest-qt spins Qt (``already_running=True``).

    Pair it with ``uninstall_loop`` (the ``qloop`` fixture does): the loop marks itself as
    the running loop, and later ``asyncio.run`` calls would refuse to start.
    docs/platform.md: its teardown must not call ``loop.stop()`` (that quits the QApplication).
    """
    loop = qasync.QEventLoop(qapp, already_running=True)
    loop.set_default_executor(ThreadPoolExecutor(max_workers=4, thread_name_prefix="qloop"))
    asyncio.set_event_loop(loop)
    return loop


def uninstall_loop(loop: qasync.QEventLoop) -> None:
    """Cancel what is left on ``loop`` and clear it as the running and current loop."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    deadline = time.monotonic() + 2.0
    while any(not task.done() for task in pending) and time.monotonic() < deadline:
        QCoreApplication.processEvents()  # let the cancellations run on the qasync loop
    # a qasync loop started with already_running=True cannot be closed: free its executor
    executor = getattr(loop, "_QEventLoop__default_executor", None)
    if executor is not None:
        executor.shutdown(wait=False, cancel_futures=True)
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


def make_profile(name: str, config: StorageConfig) -> Profile:
    """Save a profile for ``config`` (keys in the test keyring) and return it."""
    profile = Profile(name=name, endpoint_url=config.endpoint_url, bucket=config.bucket)
    save_profile(profile)
    store = CredentialStore()
    store.set(name, ACCESS_KEY_ID, config.access_key_id)
    store.set(name, SECRET_ACCESS_KEY, config.secret_access_key)
    return profile


def make_cue_profile(
    name: str, config: StorageConfig, ssai_url: str, token: str, channels: tuple[str, ...] = ()
) -> Profile:
    """``make_profile`` with a cue service at ``ssai_url`` (its ``token`` in the test
    keyring) and, when given, the profile's own ``channels`` list."""
    make_profile(name, config)
    profile = Profile(
        name=name,
        endpoint_url=config.endpoint_url,
        bucket=config.bucket,
        ssai_url=ssai_url,
        channels=channels,
    )
    save_profile(profile)
    CredentialStore().set(name, SSAI_TOKEN, token)
    return profile


def run_task(qtbot, coro, timeout_ms: int = 60_000):
    """Schedule ``coro`` on the running qasync loop and spin Qt until it is done."""
    task = asyncio.ensure_future(coro)
    qtbot.waitUntil(task.done, timeout=timeout_ms)
    return task.result()
