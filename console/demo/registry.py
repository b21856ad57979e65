"""The demo server's service seam: the HTTP services it hosts next to S3.

A service is an HTTP server hosted by the demo server process (loopback, its own port): a
factory ``f(ctx: ServiceContext) -> DemoService``, named ``"package.module:callable"`` in
``SERVICE_FACTORIES`` (or ``$VIDEO_OPS_DEMO_SERVICES``, comma-separated, or the server's
``--service``). ``start()`` returns the base URL, which the server publishes in
``stack.json`` under the service's ``state_key`` (``ssai_url``, ``assets_api_url``) and in
``services``; an optional ``extra_state()`` adds more ``stack.json`` entries (e.g. the
assets API's non-secret demo token, ``assets_api_token``); ``stop()`` is called on exit. A
service that fails to import or start is logged and left out; S3 still runs.

The services speak the contracts of docs/contracts.md §1.2 (cue service) and §1.3 (video-assets
API); ``make_s3_client`` is how they and the server reach the demo bucket.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from console.demo import state

log = logging.getLogger("console.demo.server")

#: parallel uploads when the server restores the bucket (the S3 client's pool is twice that)
UPLOAD_WORKERS = 4
SERVICES_ENV = "VIDEO_OPS_DEMO_SERVICES"

SERVICE_FACTORIES: list[str] = [
    "console.demo.cues:create_service",  # SSAI cue service -> "ssai_url" (+ token)
    "console.demo.assets_api:create_service",  # video-assets API -> "assets_api_url" (+ token)
    "console.demo.viewer:create_service",  # gate + playback/clip API -> "viewer_url" (+ key)
]
"""Factories of the services hosted next to S3, as ``"package.module:callable"``."""


@dataclass(frozen=True)
class ServiceContext:
    """What a hosted service gets: where the data lives and how to reach the demo bucket.

    ``data_dir``/``demo_dir`` are absolute paths (a service keeps its files, e.g. a SQLite
    database, under ``demo_dir``); ``endpoint_url`` is ``http://127.0.0.1:PORT`` of the S3
    server; ``stop_event`` is set when the server begins to exit.
    """

    data_dir: Path
    demo_dir: Path
    endpoint_url: str
    bucket: str
    region: str
    access_key: str
    secret_key: str
    stop_event: threading.Event

    def s3_client(self) -> Any:
        """A boto3 S3 client for the demo bucket (path-style, no proxies)."""
        return make_s3_client(self.endpoint_url)


class DemoService(Protocol):
    """An HTTP service hosted by the demo server process.

    ``state_key`` is the ``stack.json`` key its URL is published under (``"ssai_url"``).
    ``start()`` binds 127.0.0.1 (port 0), starts serving in its own thread(s) and returns the
    base URL (``http://127.0.0.1:PORT``); it may raise. ``stop()`` stops serving; it is called
    once on exit, before the final snapshot. A service may also define ``extra_state() ->
    dict[str, str]``, called once after ``start()``: more (non-secret) ``stack.json`` entries,
    such as the assets API's demo token; it is not part of the protocol's required members.
    """

    state_key: str

    def start(self) -> str: ...

    def stop(self) -> None: ...


ServiceFactory = Callable[[ServiceContext], DemoService]


def make_s3_client(endpoint_url: str) -> Any:
    """A boto3 S3 client on the demo endpoint (region ``auto``, demo credentials, path-style
    addressing, environment proxies bypassed, a few retries)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=state.REGION,
        aws_access_key_id=state.ACCESS_KEY,
        aws_secret_access_key=state.SECRET_KEY,
        config=Config(
            s3={"addressing_style": "path"},
            proxies={},
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=UPLOAD_WORKERS * 2,
        ),
    )


def load_service_factory(spec: str) -> ServiceFactory:
    """Import ``"package.module:callable"``; raises ImportError/AttributeError/ValueError."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"service spec {spec!r} is not 'package.module:callable'")
    return getattr(importlib.import_module(module_name), attr)


def service_specs(extra: Iterable[str] = ()) -> list[str]:
    """The factory specs to start, without repeats: ``SERVICE_FACTORIES``, then those of
    ``$VIDEO_OPS_DEMO_SERVICES`` (comma-separated), then ``extra``."""
    specs = list(SERVICE_FACTORIES)
    specs += [s.strip() for s in os.environ.get(SERVICES_ENV, "").split(",") if s.strip()]
    specs += list(extra)
    return list(dict.fromkeys(specs))


@dataclass
class HostedServices:
    """The services that started: ``started`` (spec, service) in start order, ``urls`` base
    URL by ``state_key``, ``extra`` the entries their ``extra_state()`` gave."""

    started: list[tuple[str, DemoService]] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def stop(self) -> None:
        """Stop every service, the last started first; a failure is logged (never raises)."""
        for spec, service in reversed(self.started):
            try:
                service.stop()
            except Exception:
                log.exception("service %s failed to stop", spec)
        self.started.clear()


def start_services(ctx: ServiceContext, specs: Iterable[str]) -> HostedServices:
    """Build and start the service of each spec with ``ctx``. A spec that fails to import
    or start is logged and left out, a failing ``extra_state()`` only loses its entries:
    never raises."""
    hosted = HostedServices()
    for spec in specs:
        try:
            service = load_service_factory(spec)(ctx)
            url = service.start()
        except Exception:
            log.exception("service %s failed to start: left out", spec)
            continue
        hosted.started.append((spec, service))
        hosted.urls[service.state_key] = url
        extra = getattr(service, "extra_state", None)
        if callable(extra):
            try:
                hosted.extra.update(extra())
            except Exception:
                log.exception("service %s: extra_state() failed (left out)", spec)
        log.info("service %s on %s (%s)", spec, url, service.state_key)
    return hosted
