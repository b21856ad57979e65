"""The embedded demo stack's server process: ``python -m console.demo.server --data-dir D``.

One detached process (started by ``console.demo.stack.ensure_demo_stack``) that:

1. takes ``server.lock`` (a previous server still writing its final snapshot finishes first);
2. starts moto's S3 server on 127.0.0.1 (random port) and creates the ``griddy-video`` bucket
   in region ``auto``;
3. restores the bucket from the persisted snapshot ``<data_dir>/demo/bucket/`` if there is a
   valid one, else from the seed (``console.demo.seed``, built first when missing);
4. starts the extra services (``SERVICE_FACTORIES``: the seam for the cue service and the
   assets API) and publishes everything in ``stack.json``;
5. every ``POLL_SECONDS`` snapshots the bucket if its listing (keys + ETags) changed, prunes
   dead client leases and exits once no client has been alive for ``IDLE_EXIT_SECONDS``;
   SIGTERM/SIGINT exit at once. Every exit path stops the services and takes a final snapshot.

The bucket snapshot is ``console.demo.bucket_snapshot``; the hosted services and how they
are found are ``console.demo.registry``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import logging
import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from console.demo import seed as seedmod
from console.demo import state
from console.demo.bucket_snapshot import BucketSnapshot, ObjectEntry
from console.demo.registry import (
    UPLOAD_WORKERS,
    HostedServices,
    ServiceContext,
    make_s3_client,
    service_specs,
    start_services,
)
from services.clock import utc_stamp

log = logging.getLogger("console.demo.server")

POLL_SECONDS = 2.0
"""How often the server compares the bucket listing with the last snapshot and checks leases."""


class DemoServer:
    """The server's state and main loop (see the module docstring).

    ``data_dir`` is the console data dir; ``idle_seconds`` the idle-exit delay (s);
    ``poll_seconds`` the snapshot/lease polling period (s); ``services`` factory specs.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        idle_seconds: float,
        poll_seconds: float = POLL_SECONDS,
        services: list[str] | None = None,
    ) -> None:
        self.data_dir = state.resolve_data_dir(data_dir)
        self.demo = state.demo_dir(self.data_dir)
        self.idle_seconds = idle_seconds
        self.poll_seconds = poll_seconds
        self.service_specs = list(services or [])
        self.stop_event = threading.Event()
        self.snapshot = BucketSnapshot(self.demo / state.SNAPSHOT_DIR)
        self.known: dict[str, ObjectEntry] = {}
        self.saved_listing: dict[str, str] | None = None  # key -> ETag at the last snapshot
        self.moto: Any = None
        self.s3: Any = None
        self.endpoint_url = ""
        self.services = HostedServices()
        self.restored_from = ""
        self._server_lock_fd: int | None = None

    # -- life cycle ------------------------------------------------------------------------

    def run(self) -> int:
        """Run until SIGTERM/SIGINT or idle; returns the process exit code (0 = clean)."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        try:
            self._take_server_lock()
            self._start()
        except Exception:
            log.exception("demo stack failed to start")
            self._shutdown()
            return 1
        if self.stop_event.is_set():
            self._shutdown()
            return 0
        try:
            self._loop()
        except Exception:
            log.exception("demo stack main loop failed")
            self._shutdown()
            return 1
        self._shutdown()
        return 0

    def _on_signal(self, signum: int, _frame: object) -> None:
        log.info("received %s: stopping", signal.Signals(signum).name)
        self.stop_event.set()

    def _take_server_lock(self) -> None:
        path = self.demo / state.SERVER_LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        t0 = time.monotonic()
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if self.stop_event.is_set():
                    os.close(fd)
                    raise RuntimeError("stopped while waiting for the previous server") from None
                if time.monotonic() - t0 > 120:
                    os.close(fd)
                    raise RuntimeError(
                        f"another demo server still holds {path} after 120 s"
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._server_lock_fd = fd
        if time.monotonic() - t0 > 0.5:
            log.info("waited %.1f s for the previous server to finish", time.monotonic() - t0)

    def _start(self) -> None:
        t0 = time.monotonic()
        log.info("demo server pid %d starting, data dir %s", os.getpid(), self.data_dir)
        entries = self.snapshot.load()
        seed = None
        if entries is None:
            seed = seedmod.ensure_seed(self.data_dir)
            entries = {
                o.key: ObjectEntry("", o.sha256, o.size, o.content_type, {}, o.path)
                for o in seed.objects
            }
            self.restored_from = f"seed-v{seed.version}"
        else:
            self.restored_from = "snapshot"
        from moto.server import ThreadedMotoServer

        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.moto.start()
        host, port = self.moto.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        self.s3 = make_s3_client(self.endpoint_url)
        self.s3.create_bucket(
            Bucket=state.BUCKET, CreateBucketConfiguration={"LocationConstraint": state.REGION}
        )
        self._restore(entries)
        # The bucket now equals the snapshot (or the seed, which needs no snapshot until
        # something changes): remember its listing so only real changes are persisted.
        self.saved_listing = {key: e.etag for key, e in self.known.items()}
        if seed is None:
            self.snapshot.write_index(self.known)  # ETags changed with the re-upload
        log.info(
            "S3 on %s: %d objects restored from %s in %.2f s",
            self.endpoint_url,
            len(self.known),
            self.restored_from,
            time.monotonic() - t0,
        )
        self._start_services()
        self._write_state()

    def _restore(self, entries: dict[str, ObjectEntry]) -> None:
        def put(item: tuple[str, ObjectEntry]) -> None:
            key, entry = item
            assert entry.source is not None
            with entry.source.open("rb") as body:
                answer = self.s3.put_object(
                    Bucket=state.BUCKET,
                    Key=key,
                    Body=body,
                    ContentType=entry.content_type,
                    Metadata=entry.metadata,
                )
            entry.etag = answer["ETag"]
            self.known[key] = entry

        with ThreadPoolExecutor(UPLOAD_WORKERS, thread_name_prefix="restore") as pool:
            list(pool.map(put, entries.items()))

    def _start_services(self) -> None:
        ctx = ServiceContext(
            data_dir=self.data_dir,
            demo_dir=self.demo,
            endpoint_url=self.endpoint_url,
            bucket=state.BUCKET,
            region=state.REGION,
            access_key=state.ACCESS_KEY,
            secret_key=state.SECRET_KEY,
            stop_event=self.stop_event,
        )
        self.services = start_services(ctx, service_specs(self.service_specs))

    def _write_state(self) -> None:
        doc: dict[str, Any] = {
            "pid": os.getpid(),
            "endpoint_url": self.endpoint_url,
            "bucket": state.BUCKET,
            "region": state.REGION,
            "access_key": state.ACCESS_KEY,
            "secret_key": state.SECRET_KEY,
            "seed_version": seedmod.SEED_VERSION,
            "started_at": utc_stamp(),
            "restored_from": self.restored_from,
            "services": dict(self.services.urls),
        }
        doc.update(self.services.urls)
        for key, value in self.services.extra.items():
            doc.setdefault(key, value)  # a service cannot override the stack's own entries
        state.write_json_atomic(self.demo / state.STATE_FILE, doc)
        log.info("ready: %s", self.demo / state.STATE_FILE)

    def _loop(self) -> None:
        last_client = time.monotonic()
        while not self.stop_event.wait(self.poll_seconds):
            try:
                self.snapshot_if_changed()
            except Exception:
                log.exception("snapshot failed (will retry)")
            if state.live_leases(self.demo, prune=True):
                last_client = time.monotonic()
            elif time.monotonic() - last_client >= self.idle_seconds and self._idle_exit():
                log.info("no live client for %.0f s: exiting", self.idle_seconds)
                return

    def _idle_exit(self) -> bool:
        """Withdraw stack.json if still idle, under the stack lock so no client joins
        meanwhile; False when a client holds the lock or registered a lease."""
        try:
            with state.file_lock(self.demo / state.STACK_LOCK, timeout=0):
                if state.live_leases(self.demo):
                    return False
                self._remove_state()
                return True
        except state.LockTimeout:
            return False

    def _remove_state(self) -> None:
        path = self.demo / state.STATE_FILE
        doc = state.read_json(path)
        if doc is not None and doc.get("pid") == os.getpid():
            with contextlib.suppress(OSError):
                path.unlink()

    def _shutdown(self) -> None:
        self.stop_event.set()
        self._remove_state()
        self.services.stop()
        if self.s3 is not None:
            try:
                self.snapshot_if_changed()
            except Exception:
                log.exception("final snapshot failed")
        if self.moto is not None:
            with contextlib.suppress(Exception):
                self.moto.stop()
        if self._server_lock_fd is not None:
            os.close(self._server_lock_fd)
            self._server_lock_fd = None
        log.info("demo server pid %d stopped", os.getpid())

    # -- persistence -----------------------------------------------------------------------

    def listing(self) -> dict[str, str]:
        """Every key of the bucket with its ETag (paginated ListObjectsV2)."""
        found: dict[str, str] = {}
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=state.BUCKET)
        for page in pages:
            for obj in page.get("Contents", []):
                found[obj["Key"]] = obj["ETag"]
        return found

    def snapshot_if_changed(self) -> bool:
        """Persist the bucket if its listing differs from the last snapshot's.

        Unchanged objects (same ETag) reuse their stored body; changed ones are downloaded
        once. Returns whether a snapshot was written.
        """
        current = self.listing()
        if current == self.saved_listing:
            return False
        t0 = time.monotonic()
        entries: dict[str, ObjectEntry] = {}
        fetched = 0
        for key, etag in current.items():
            entry = self.known.get(key)
            if entry is not None and entry.etag == etag:
                if not self.snapshot.has_body(entry.sha256, entry.size):
                    if entry.source is not None and entry.source.exists():
                        entry.source = self.snapshot.store_file(entry.sha256, entry.source)
                    else:
                        entry = None
            else:
                entry = None
            if entry is None:
                entry = self._fetch(key)
                if entry is None:  # deleted meanwhile
                    continue
                fetched += 1
            entries[key] = entry
        self.snapshot.write_index(entries)
        self.known = entries
        self.saved_listing = {key: e.etag for key, e in entries.items()}
        log.info(
            "snapshot: %d objects (%d fetched) in %.2f s",
            len(entries),
            fetched,
            time.monotonic() - t0,
        )
        return True

    def _fetch(self, key: str) -> ObjectEntry | None:
        try:
            answer = self.s3.get_object(Bucket=state.BUCKET, Key=key)
        except self.s3.exceptions.NoSuchKey:
            return None
        sha, size, path = self.snapshot.store_stream(answer["Body"].iter_chunks(1 << 20))
        return ObjectEntry(
            etag=answer["ETag"],
            sha256=sha,
            size=size,
            content_type=answer.get("ContentType") or seedmod.content_type_for(key),
            metadata=dict(answer.get("Metadata") or {}),
            source=path,
        )


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m console.demo.server --data-dir D [--idle-seconds S]
    [--service module:factory ...]``. Returns the exit code."""
    parser = argparse.ArgumentParser(description="The console's embedded demo stack server.")
    parser.add_argument("--data-dir", type=Path, default=None, help="console data dir")
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=None,
        help="exit after this long (s) without a live client; inf = never "
        f"(default ${state.IDLE_ENV} or {state.IDLE_EXIT_SECONDS})",
    )
    parser.add_argument("--poll-seconds", type=float, default=POLL_SECONDS)
    parser.add_argument("--service", action="append", default=[], help="module:factory")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("werkzeug", "botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    server = DemoServer(
        args.data_dir if args.data_dir is not None else state.resolve_data_dir(None),
        idle_seconds=args.idle_seconds or state.idle_exit_seconds(),
        poll_seconds=args.poll_seconds,
        services=args.service,
    )
    return server.run()


if __name__ == "__main__":
    raise SystemExit(main())
