"""Composition root shared by the GUI and the CLI: profile → storage, catalog, gateway,
video-assets API client.

``open_context()`` picks the named profile, else the file's default, else the embedded demo
stack (docs/contracts.md §1.4), and wires the same services either way: the console code is the same
for demo and production.

The assets client is optional: ``AppContext.assets`` is None when the profile has no assets
API URL or no token, and ``AppContext.assets_problem`` then says why and what to do.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from console.profiles import DEMO_PROFILE, Profile, load_profiles
from services.assets import AssetsClient
from services.audit.gate_client import ViewerConfig
from services.catalog import CatalogService
from services.credentials import CredentialStore
from services.cues import CueClient
from services.errors import BadConfig
from services.gateway import PlaybackGateway
from services.storage import Storage, StorageConfig

#: keyring name of a profile's video-assets API token (``CredentialStore.get(profile, …)``)
ASSETS_API_TOKEN = "assets_api_token"
#: keyring name of a profile's SSAI cue service token
SSAI_TOKEN = "ssai_token"
#: keyring names of a profile's playback API token and gate signing key (migration audit)
VIEWER_API_TOKEN = "viewer_api_token"
GATE_SIGNING_KEY = "gate_signing_key"
#: keyring name of a profile's Ray cluster auth token (``RAY_AUTH_MODE=token`` clusters)
RAY_TOKEN = "ray_token"


@dataclass
class AppContext:
    """The live services of one session; ``aclose()`` (from async code, on the loop that used
    the services) or ``close()`` releases threads, sockets and leases.

    ``assets`` is the video-assets API client, None when the profile cannot reach that API;
    ``assets_problem`` then says why (empty when ``assets`` is set). ``cues`` and
    ``cues_problem`` are the same for the SSAI cue service, ``viewer`` and
    ``viewer_problem`` for the playback API and gate the migration audit uses.
    """

    profile: Profile
    credentials: CredentialStore
    storage: Storage
    catalog: CatalogService
    gateway: PlaybackGateway
    assets: AssetsClient | None = None
    assets_problem: str = ""
    cues: CueClient | None = None
    cues_problem: str = ""
    viewer: ViewerConfig | None = None
    viewer_problem: str = ""
    _closed: bool = field(default=False, repr=False)

    @property
    def title(self) -> str:
        """Window-title label: ``DEMO`` for the embedded stack, else the profile name."""
        return "DEMO (embedded local stack)" if self.profile.is_demo else self.profile.name

    def hold_demo_stack_for(self, pid: int) -> None:
        """Lease the demo stack to process ``pid`` too (the local Ray head, whose workers
        read the demo bucket after this console has gone); nothing for other profiles."""
        if self.profile.is_demo:
            from console.demo.stack import hold_demo_stack_for

            hold_demo_stack_for(pid)

    async def aclose(self) -> None:
        """Close everything, awaiting the assets client's connections (idempotent)."""
        if self._closed:
            return
        if self.assets is not None:
            await self.assets.aclose()
        if self.cues is not None:
            await self.cues.aclose()
        self.close()

    def close(self) -> None:
        """Close everything from synchronous code (idempotent). The assets client is
        closed as a task when its loop is running, else in a short-lived loop."""
        if self._closed:
            return
        self._closed = True
        if self.assets is not None:
            self.assets.close()
        if self.cues is not None:
            self.cues.close()
        self.gateway.stop()
        self.storage.close()
        if self.profile.is_demo:
            from console.demo.stack import release_demo_stack

            release_demo_stack()


def _demo_stack() -> tuple[Profile, StorageConfig, dict[str, str | None]]:
    """Start or join the embedded demo stack (blocking: seconds on the first run while it
    seeds) and describe it as a profile, with its storage config and its published
    (non-secret) tokens, ``{"assets": …, "cues": …, "viewer": …, "gate": …}`` (None when it
    publishes none).
    Raises ``BadConfig``."""
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
        viewer_url=endpoint.viewer_url or "",
        is_demo=True,
    )
    config = StorageConfig(
        endpoint.endpoint_url,
        endpoint.bucket,
        endpoint.access_key,
        endpoint.secret_key,
        endpoint.region,
    )
    tokens = {
        "assets": endpoint.assets_api_token,
        "cues": endpoint.ssai_token,
        "viewer": endpoint.viewer_api_token,
        "gate": endpoint.viewer_signing_key,
    }
    return profile, config, tokens


def assets_client_for(
    profile: Profile, credentials: CredentialStore, demo_token: str | None = None
) -> tuple[AssetsClient | None, str]:
    """The assets API client of ``profile`` and ``""``, or None and a sentence saying why
    there is none (no URL, no token, unusable URL). Never raises. ``demo_token`` is the
    embedded stack's published token (used for the demo profile instead of the keyring)."""
    if not profile.assets_api_url:
        if profile.is_demo:
            return None, "the embedded demo stack runs no assets API"
        return None, (
            f"profile {profile.name!r} has no assets API URL: main.py profile add "
            f"{profile.name} --endpoint … --assets-api-url URL"
        )
    if profile.is_demo:
        token = demo_token
        if not token:
            return None, "the embedded demo stack publishes no assets API token"
    else:
        token = credentials.get(profile.name, ASSETS_API_TOKEN)
        if not token:
            return None, (
                f"no assets API token in the keyring: main.py profile set-token "
                f"{profile.name} assets"
            )
    try:
        return AssetsClient(profile.assets_api_url, token), ""
    except BadConfig as exc:
        return None, str(exc)


def cues_client_for(
    profile: Profile, credentials: CredentialStore, demo_token: str | None = None
) -> tuple[CueClient | None, str]:
    """The cue service client of ``profile`` and ``""``, or None and a sentence saying why
    (no URL, no token, unusable URL). Never raises. ``demo_token`` is the embedded stack's
    published token (used for the demo profile instead of the keyring)."""
    if not profile.ssai_url:
        if profile.is_demo:
            return None, "the embedded demo stack runs no cue service"
        return None, (
            f"profile {profile.name!r} has no cue service URL: main.py profile add "
            f"{profile.name} --endpoint … --ssai-url URL"
        )
    token = demo_token if profile.is_demo else credentials.get(profile.name, SSAI_TOKEN)
    if not token:
        if profile.is_demo:
            return None, "the embedded demo stack publishes no cue service token"
        return None, (
            f"no cue service token in the keyring: main.py profile set-token {profile.name} cues"
        )
    try:
        return CueClient(profile.ssai_url, token), ""
    except BadConfig as exc:
        return None, str(exc)


def viewer_for(
    profile: Profile, credentials: CredentialStore, demo: dict[str, str | None] | None = None
) -> tuple[ViewerConfig | None, str]:
    """The viewer side (playback API + gate) of ``profile`` and ``""``, or None and a
    sentence saying why. The signing key is optional (without it the audit skips the
    expired and session-token rows). Never raises. ``demo``: the stack's published values."""
    if not profile.viewer_url:
        if profile.is_demo:
            return None, "the embedded demo stack runs no gate or playback API"
        return None, (
            f"profile {profile.name!r} has no viewer URL: main.py profile add "
            f"{profile.name} --endpoint … --viewer-url URL"
        )
    if profile.is_demo:
        token, key = (demo or {}).get("viewer"), (demo or {}).get("gate")
    else:
        token = credentials.get(profile.name, VIEWER_API_TOKEN)
        key = credentials.get(profile.name, GATE_SIGNING_KEY)
    if not token:
        return None, (
            f"no playback API token in the keyring: main.py profile set-token {profile.name} viewer"
        )
    return ViewerConfig(profile.viewer_url, token, key or ""), ""


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
        demo_tokens: dict[str, str | None] = {}
    else:
        profile, config, demo_tokens = _demo_stack()
    assets, assets_problem = assets_client_for(profile, credentials, demo_tokens.get("assets"))
    cues, cues_problem = cues_client_for(profile, credentials, demo_tokens.get("cues"))
    viewer, viewer_problem = viewer_for(profile, credentials, demo_tokens)
    storage = Storage(config)
    gateway = PlaybackGateway(config)
    gateway.start()
    return AppContext(
        profile,
        credentials,
        storage,
        CatalogService(storage, source_prefix=profile.source_prefix),
        gateway,
        assets=assets,
        assets_problem=assets_problem,
        cues=cues,
        cues_problem=cues_problem,
        viewer=viewer,
        viewer_problem=viewer_problem,
    )


async def open_context(profile_name: str | None = None) -> AppContext:
    """``build_context`` off the event loop (the demo stack may take seconds to start)."""
    return await asyncio.to_thread(build_context, profile_name)
