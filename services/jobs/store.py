"""Job history in SQLite (the app keeps it in ``<data dir>/jobs.sqlite3``): one row per job
and its log lines.

All database work runs on one writer thread owned by the store, in submission order:
``save``/``append_log`` return at once (the GUI thread never waits on the disk), reads
wait for the writes queued before them. WAL journal, ``synchronous=NORMAL``. Log lines are
batched per write and capped per job (the newest ``log_cap`` lines are kept).

Several consoles may share one file (the GUI and a CLI run): each job row records the pid
of the process running it, and opening the store marks queued/running jobs whose process
is gone as ``interrupted``.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from services.jobs.model import ACTIVE_STATES, INTERRUPTED_MESSAGE, JobRecord, JobState
from services.process_liveness import pid_alive

log = logging.getLogger("console.jobs")

SCHEMA_VERSION = 1
DEFAULT_LOG_CAP = 5000

_SCHEMA = (
    """CREATE TABLE jobs (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, target TEXT NOT NULL, title TEXT NOT NULL,
        profile TEXT NOT NULL, state TEXT NOT NULL, fraction REAL, stage TEXT NOT NULL,
        detail TEXT NOT NULL, created_at REAL NOT NULL, started_at REAL, finished_at REAL,
        updated_at REAL, summary TEXT NOT NULL, error TEXT NOT NULL, result TEXT NOT NULL,
        owner_pid INTEGER NOT NULL)""",
    "CREATE INDEX jobs_created ON jobs (created_at)",
    """CREATE TABLE job_logs (
        id INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, at REAL NOT NULL,
        line TEXT NOT NULL)""",
    "CREATE INDEX job_logs_job ON job_logs (job_id, id)",
)
_COLUMNS = (
    "id",
    "kind",
    "target",
    "title",
    "profile",
    "state",
    "fraction",
    "stage",
    "detail",
    "created_at",
    "started_at",
    "finished_at",
    "updated_at",
    "summary",
    "error",
    "result",
)


class JobStoreError(Exception):
    """The history file cannot be used (written by a newer console, or not a database)."""


class JobStore:
    """The persisted job history. Thread-safe; ``close()`` when done (idempotent).

    Raises ``JobStoreError`` on open when the file has a newer schema or is not SQLite.
    ``recovered`` lists the jobs this open marked ``interrupted``.
    """

    def __init__(self, path: Path, *, log_cap: int = DEFAULT_LOG_CAP) -> None:
        self.path = Path(path)
        self.log_cap = log_cap
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobstore")
        self._lock = threading.Lock()
        self._pending_logs: list[tuple[str, float, str]] = []
        self._log_flush_queued = False
        self._closed = False
        self._db: sqlite3.Connection | None = None
        try:
            self.recovered: list[JobRecord] = self._call(self._open)
        except BaseException:
            self._executor.shutdown(wait=True)
            raise

    def _call(self, fn, *args) -> Any:
        """Run ``fn(*args)`` on the writer thread after the queued writes; wait for it."""
        return self._executor.submit(fn, *args).result()

    def _submit(self, fn, *args) -> None:
        if self._closed:
            return
        self._executor.submit(fn, *args).add_done_callback(_log_failure)

    # --- writer thread ---------------------------------------------------------------

    def _open(self) -> list[JobRecord]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=5000")
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            db.close()
            raise JobStoreError(f"{self.path} is not a job history database ({exc}).") from exc
        if version > SCHEMA_VERSION:
            db.close()
            raise JobStoreError(
                f"{self.path} was written by a newer console (schema {version}, this one "
                f"reads {SCHEMA_VERSION}); update the console or move the file away."
            )
        if version == 0:
            with db:
                db.execute("BEGIN IMMEDIATE")
                if db.execute("PRAGMA user_version").fetchone()[0] == 0:
                    for statement in _SCHEMA:
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        self._db = db
        return self._recover()

    def _recover(self) -> list[JobRecord]:
        db = self._require_db()
        placeholders = ",".join("?" * len(ACTIVE_STATES))
        rows = db.execute(
            f"SELECT owner_pid, {','.join(_COLUMNS)} FROM jobs WHERE state IN ({placeholders})",
            [s.value for s in ACTIVE_STATES],
        ).fetchall()
        now = time.time()
        recovered = []
        for owner_pid, *values in rows:
            if pid_alive(owner_pid):
                continue
            record = _record(values).evolve(
                state=JobState.INTERRUPTED,
                error=INTERRUPTED_MESSAGE,
                eta_seconds=None,
                finished_at=now,
                updated_at=now,
            )
            self._upsert(record, owner_pid)
            recovered.append(record)
        return recovered

    def _require_db(self) -> sqlite3.Connection:
        if self._db is None:
            raise JobStoreError("the job history is closed")
        return self._db

    def _upsert(self, record: JobRecord, owner_pid: int) -> None:
        values = (
            record.id,
            record.kind,
            record.target,
            record.title,
            record.profile,
            record.state.value,
            record.fraction,
            record.stage,
            record.detail,
            record.created_at,
            record.started_at,
            record.finished_at,
            record.updated_at,
            record.summary,
            record.error,
            json.dumps(record.result, default=str),
            owner_pid,
        )
        self._require_db().execute(
            f"INSERT OR REPLACE INTO jobs ({','.join(_COLUMNS)}, owner_pid) "
            f"VALUES ({','.join('?' * len(values))})",
            values,
        )

    def _flush_logs(self) -> None:
        with self._lock:
            batch, self._pending_logs = self._pending_logs, []
            self._log_flush_queued = False
        if not batch:
            return
        db = self._require_db()
        with db:
            db.execute("BEGIN")
            db.executemany("INSERT INTO job_logs (job_id, at, line) VALUES (?, ?, ?)", batch)
            for job_id in {job_id for job_id, _, _ in batch}:
                db.execute(
                    "DELETE FROM job_logs WHERE job_id = ? AND id < (SELECT id FROM job_logs "
                    "WHERE job_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                    (job_id, job_id, self.log_cap - 1),
                )

    def _select(self, where: str, params: Iterable[Any], limit: int) -> list[JobRecord]:
        rows = (
            self._require_db()
            .execute(
                f"SELECT {','.join(_COLUMNS)} FROM jobs {where} "
                "ORDER BY created_at DESC, rowid DESC LIMIT ?",
                [*params, limit],
            )
            .fetchall()
        )
        return [_record(row) for row in rows]

    def _log_lines(self, job_id: str, limit: int) -> list[str]:
        self._flush_logs()
        rows = (
            self._require_db()
            .execute(
                "SELECT line FROM job_logs WHERE job_id = ? ORDER BY id DESC LIMIT ?",
                (job_id, limit),
            )
            .fetchall()
        )
        return [row[0] for row in reversed(rows)]

    def _close(self) -> None:
        self._flush_logs()
        if self._db is not None:
            self._db.close()
            self._db = None

    # --- any thread ------------------------------------------------------------------

    def save(self, record: JobRecord) -> None:
        """Insert or replace ``record`` as owned by this process (returns at once)."""
        self._submit(self._upsert, record, os.getpid())

    def append_log(self, job_id: str, line: str) -> None:
        """Queue one log line of ``job_id`` (returns at once; lines are written in batches)."""
        with self._lock:
            if self._closed:
                return
            self._pending_logs.append((job_id, time.time(), line))
            if self._log_flush_queued:
                return
            self._log_flush_queued = True
        self._submit(self._flush_logs)

    def history(
        self, limit: int = 200, states: Iterable[JobState] | None = None
    ) -> list[JobRecord]:
        """The ``limit`` most recently created jobs, newest first, optionally only those in
        ``states``. Blocks until the writes queued before it are done."""
        if states is None:
            return self._call(self._select, "", (), limit)
        values = [JobState(s).value for s in states]
        where = f"WHERE state IN ({','.join('?' * len(values))})"
        return self._call(self._select, where, values, limit)

    def get(self, job_id: str) -> JobRecord | None:
        """One job by id, or None."""
        rows = self._call(self._select, "WHERE id = ?", (job_id,), 1)
        return rows[0] if rows else None

    def log_lines(self, job_id: str, limit: int | None = None) -> list[str]:
        """The kept log lines of ``job_id``, oldest first (at most ``limit``, the newest)."""
        return self._call(self._log_lines, job_id, limit or self.log_cap)

    def flush(self) -> None:
        """Wait until every queued write is on disk (committed)."""
        if not self._closed:
            self._call(self._flush_logs)

    def close(self) -> None:
        """Write what is queued, close the database and stop the writer thread."""
        if self._closed:
            return
        self._call(self._close)
        self._closed = True
        self._executor.shutdown(wait=True)


def _record(values) -> JobRecord:
    row = dict(zip(_COLUMNS, values, strict=True))
    row["state"] = JobState(row["state"])
    try:
        row["result"] = json.loads(row["result"]) if row["result"] else {}
    except ValueError:
        row["result"] = {}
    return JobRecord(**row)


def _log_failure(future: Future) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("job history write failed", exc_info=exc)
