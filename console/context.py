"""Composition root shared by the GUI and the CLI: profile → storage, catalog, gateway.

``open_context()`` picks the named profile, else the file's default, else the embedded demo
stack (DESIGN.md §1.4), and wires the same services either way: the console code is the same
for demo and production.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from console.profiles import DEMO_PROFILE, Profile, load_profiles
from services.catalog import CatalogService
from services.credentials import CredentialStore
from services.errors import BadConfig
from services.gateway import PlaybackGateway
from services.storage import Storage, StorageConfig


@dataclass
class AppContext:
    """The live services of one session; ``close()`` releases threads, sockets and leases."""

    profile: Profile
    credentials: CredentialStore
    storage: Storage
    catalog: CatalogService
    gateway: PlaybackGateway
    _closed: bool = field(default=False, repr=False)

    @property
    def title(self) -> str:
        """Window-title label: ``DEMO`` for the embedded stack, else the profile name."""
        return "DEMO (embedded local stack)" if self.profile.is_demo else self.profile.name

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.gateway.stop()
        self.storage.close()
        if self.profile.is_demo:
            from console.demo.stack import release_demo_stack

            release_demo_stack()


def demo_profile_and_config() -> tuple[Profile, StorageConfig]:
    """Start or join the embedded demo stack (blocking: up to ~40 s on first run while it
    seeds) and describe it as a profile. Raises ``BadConfig`` if it cannot start."""
    from console.demo.stack import DemoStackError, ensure_demo_stack

    try:
        endpoint = ensure_demo_stack()
    except DemoStackError as exc:
        raise BadConfig(f"The embedded demo stack did not start: {exc}") from exc
    profile = Profile(
        name=DEMO_PROFILE,
        endpoint_url=endpoint.endpoint_url,
        bucket=endpoint.bucket,
        region=endpoint.region,
        ssai_url=endpoint.ssai_url or "",
        assets_api_url=endpoint.assets_api_url or "",
        is_demo=True,
    )
    config = StorageConfig(
        endpoint.endpoint_url,
        endpoint.bucket,
        endpoint.access_key,
        endpoint.secret_key,
        endpoint.region,
    )
    return profile, config


def build_context(profile_name: str | None = None) -> AppContext:
    """Blocking construction (run it in a worker thread from the GUI). Raises ``BadConfig``."""
    credentials = CredentialStore()
    profiles, default = load_profiles()
    name = profile_name or default
    if name and name != DEMO_PROFILE:
        if name not in profiles:
            raise BadConfig(f"No profile named {name!r}; known: {', '.join(profiles) or 'none'}.")
        profile = profiles[name]
        config = profile.storage_config(credentials)
    else:
        profile, config = demo_profile_and_config()
    storage = Storage(config)
    gateway = PlaybackGateway(config)
    gateway.start()
    return AppContext(profile, credentials, storage, CatalogService(storage), gateway)


async def open_context(profile_name: str | None = None) -> AppContext:
    """``build_context`` off the event loop (the demo stack may take seconds to start)."""
    return await asyncio.to_thread(build_context, profile_name)
