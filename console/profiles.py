"""Connection profiles: ``profiles.toml`` in the user config dir, secrets in the keyring.

A profile names the systems the console talks to (docs/contracts.md): the S3 endpoint and
bucket of the R2 catalog, the SSAI cue service URL and the video-assets API URL. The file
holds no secret: S3 keys and API tokens live in ``services.credentials.CredentialStore``.
With no profile configured, the console runs on the embedded demo stack (``DEMO_PROFILE``).

File format::

    default = "prod"
    [profiles.prod]
    endpoint_url = "https://<account>.r2.cloudflarestorage.com"
    bucket = "griddy-video"
    ssai_url = "https://ssai.example.com"
    assets_api_url = "https://api.example.com"
    viewer_url = "https://watch.example.com"     # playback API + gate (migration audit)
    ray_address = "http://ray-head:8265"          # Ray Jobs API (--on-cluster)
    channels = ["live/sports1", "live/sports2"]   # cue service channels (org/channel)
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

import tomli_w

from console.paths import config_dir
from services.credentials import CredentialStore
from services.errors import BadConfig
from services.storage import StorageConfig

DEMO_PROFILE = "demo"
ACCESS_KEY_ID = "s3_access_key_id"
SECRET_ACCESS_KEY = "s3_secret_access_key"


@dataclass(frozen=True)
class Profile:
    """One environment the console can connect to; ``is_demo`` for the embedded stack.
    ``channels`` are the cue service's channel ids (``org/channel``) the operator may cue;
    empty means "ask the service" (the demo's lists its own). ``source_prefix`` is the key
    prefix where spot-check finds a game's source as ``{source_prefix}{game_id}.mp4``
    (besides ``games/{id}/source.mp4``); empty: only the latter."""

    name: str
    endpoint_url: str
    bucket: str = "griddy-video"
    region: str = "auto"
    ssai_url: str = ""
    assets_api_url: str = ""
    is_demo: bool = False
    channels: tuple[str, ...] = ()
    source_prefix: str = ""
    viewer_url: str = ""
    """The origin of the playback API and the gate (``/api/games/…``, ``/games/…``,
    docs/contracts.md §1.5), for the migration audit; empty: no audit."""
    ray_address: str = ""
    """The Ray cluster's Jobs API (``http://HEAD:8265``) for ``--on-cluster`` backfills and
    spot-checks; empty: none (the demo profile uses the local head of ``main.py cluster
    start``)."""

    def storage_config(self, credentials: CredentialStore) -> StorageConfig:
        """The S3 config with keys from the keyring; raises ``BadConfig`` when unset."""
        key_id = credentials.get(self.name, ACCESS_KEY_ID)
        secret = credentials.get(self.name, SECRET_ACCESS_KEY)
        if not key_id or not secret:
            raise BadConfig(
                f"Profile {self.name!r} has no S3 keys in the keyring: set them with "
                f"`python main.py profile set-keys {self.name}`."
            )
        config = StorageConfig(self.endpoint_url, self.bucket, key_id, secret, self.region)
        config.validate()
        return config


def profiles_path() -> Path:
    return config_dir() / "profiles.toml"


def load_profiles(path: Path | None = None) -> tuple[dict[str, Profile], str | None]:
    """All profiles of the file and the default profile's name (``({}, None)`` when there is
    no file). Raises ``BadConfig`` naming the file when it is not valid TOML or a profile
    lacks ``endpoint_url``."""
    path = path or profiles_path()
    if not path.exists():
        return {}, None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadConfig(f"{path} is not valid TOML: {exc}") from exc
    profiles: dict[str, Profile] = {}
    for name, fields in (data.get("profiles") or {}).items():
        if not isinstance(fields, dict) or not fields.get("endpoint_url"):
            raise BadConfig(f"{path}: profile {name!r} needs an endpoint_url.")
        known = {k: str(v) for k, v in fields.items() if k in Profile.__dataclass_fields__}
        for dropped in ("name", "is_demo", "channels"):
            known.pop(dropped, None)
        channels = fields.get("channels", [])
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            raise BadConfig(f"{path}: profile {name!r}: channels must be a list of strings.")
        profiles[name] = Profile(name=name, **known, channels=tuple(channels))
    default = data.get("default")
    if default is not None and default not in profiles:
        raise BadConfig(f"{path}: default profile {default!r} is not defined.")
    return profiles, default or (next(iter(profiles)) if profiles else None)


def save_profile(profile: Profile, *, make_default: bool = False, path: Path | None = None) -> None:
    """Add or replace one profile in the file (written atomically, no secrets)."""
    path = path or profiles_path()
    profiles, default = load_profiles(path)
    profiles[profile.name] = profile
    rows = {}
    for name, p in profiles.items():
        fields = asdict(p)
        for dropped in ("name", "is_demo"):
            fields.pop(dropped)
        channels = list(fields.pop("channels"))
        if channels:  # written only when the profile lists its channels
            fields["channels"] = channels
        if not fields["source_prefix"]:  # written only when spot-check sources have one
            del fields["source_prefix"]
        if not fields["viewer_url"]:  # written only when the audit has a viewer side
            del fields["viewer_url"]
        if not fields["ray_address"]:  # written only when the profile names a cluster
            del fields["ray_address"]
        rows[name] = fields
    data = {"default": profile.name if make_default or not default else default, "profiles": rows}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
    tmp.replace(path)
