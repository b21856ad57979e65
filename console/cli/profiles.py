"""``main.py profile …``: production profiles in ``profiles.toml`` (no secrets there) and
their secrets in the OS keyring (S3 keys, the assets API, cue service and Ray tokens)."""

from __future__ import annotations

import argparse
import getpass
import sys

from console.cli.session import Unusable
from console.context import (
    ASSETS_API_TOKEN,
    GATE_SIGNING_KEY,
    RAY_TOKEN,
    SSAI_TOKEN,
    VIEWER_API_TOKEN,
)


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register ``profile`` on the CLI's sub-commands."""
    profile = commands.add_parser("profile", help="connection profiles")
    profile_cmd = profile.add_subparsers(dest="profile_command", required=True)
    profile_cmd.add_parser("list", help="list profiles (no secrets)")
    add = profile_cmd.add_parser("add", help="add or replace a profile")
    add.add_argument("name")
    add.add_argument("--endpoint", required=True, help="S3 endpoint URL (R2: https://<acct>.r2…)")
    add.add_argument("--bucket", default="griddy-video")
    add.add_argument("--ssai-url", default="")
    add.add_argument("--assets-api-url", default="")
    add.add_argument(
        "--channel",
        action="append",
        default=[],
        metavar="ORG/CHANNEL",
        help="a live channel the operator may cue (repeatable)",
    )
    add.add_argument(
        "--source-prefix",
        default="",
        help="key prefix of {game_id}.mp4 sources for spot-check fidelity",
    )
    add.add_argument("--viewer-url", default="", help="origin of the playback API and gate (audit)")
    add.add_argument(
        "--ray-address", default="", help="Ray cluster's Jobs API, http://HEAD:8265 (--on-cluster)"
    )
    add.add_argument("--default", action="store_true", help="make it the default profile")
    keys = profile_cmd.add_parser("set-keys", help="store S3 keys in the OS keyring (prompted)")
    keys.add_argument("name")
    token = profile_cmd.add_parser("set-token", help="store an API token in the keyring (prompted)")
    token.add_argument("name")
    token.add_argument(
        "api",
        choices=["assets", "cues", "viewer", "gate", "ray"],
        help="which API the token is for (viewer: the playback API; gate: its signing key; "
        "ray: the Ray cluster's auth token)",
    )


def run_profile(args: argparse.Namespace) -> int:
    """``profile list|add|set-keys|set-token``; 0 done, 1 not stored, 2 unusable."""
    from console.profiles import (
        ACCESS_KEY_ID,
        SECRET_ACCESS_KEY,
        Profile,
        load_profiles,
        save_profile,
    )
    from services.credentials import CredentialStore

    if args.profile_command == "list":
        profiles, default = load_profiles()
        if not profiles:
            print("No profiles: the console runs on the embedded demo stack.")
        for name, p in profiles.items():
            mark = "*" if name == default else " "
            extra = f"  sources={p.source_prefix}" if p.source_prefix else ""
            extra += f"  ray={p.ray_address}" if p.ray_address else ""
            print(f"{mark} {name:16} {p.endpoint_url}  bucket={p.bucket}{extra}")
        return 0
    if args.profile_command == "add":
        bare = [
            c for c in args.channel if c.count("/") != 1 or c.startswith("/") or c.endswith("/")
        ]
        if bare:
            raise Unusable(
                f"--channel takes org/channel (e.g. live/sports1), not {', '.join(bare)}: "
                "the cue service's playlists live under /{org}/{channel}/."
            )
        profile = Profile(
            args.name,
            args.endpoint,
            args.bucket,
            ssai_url=args.ssai_url,
            assets_api_url=args.assets_api_url,
            channels=tuple(args.channel),
            source_prefix=args.source_prefix,
            viewer_url=args.viewer_url,
            ray_address=args.ray_address,
        )
        save_profile(profile, make_default=args.default)
        print(f"Profile {args.name!r} saved. Store its keys: main.py profile set-keys {args.name}")
        return 0
    if args.profile_command == "set-token":
        return _set_token(args.name, args.api)
    store = CredentialStore()
    key_id = input("S3 access key ID: ").strip()
    secret = getpass.getpass("S3 secret access key: ").strip()
    persisted = store.set(args.name, ACCESS_KEY_ID, key_id)
    store.set(args.name, SECRET_ACCESS_KEY, secret)
    if not persisted:
        print(f"Not saved: {store.status}.", file=sys.stderr)
        return 1
    print("Keys stored in the OS keyring.")
    return 0


def _set_token(name: str, api: str) -> int:
    """``profile set-token NAME assets``: prompt for the token, store it in the keyring."""
    from console.profiles import DEMO_PROFILE, load_profiles
    from services.credentials import CredentialStore

    if name == DEMO_PROFILE:
        print("The demo profile uses the embedded stack's fixed token.", file=sys.stderr)
        return 2
    profiles, _ = load_profiles()
    if name not in profiles:
        print(f"No profile named {name!r}: add it first (main.py profile add).", file=sys.stderr)
        return 2
    secret = getpass.getpass(f"{api.capitalize()} API token for {name}: ").strip()
    if not secret:
        print("No token entered: nothing stored.", file=sys.stderr)
        return 2
    store = CredentialStore()
    names = {
        "cues": SSAI_TOKEN,
        "assets": ASSETS_API_TOKEN,
        "viewer": VIEWER_API_TOKEN,
        "gate": GATE_SIGNING_KEY,
        "ray": RAY_TOKEN,
    }
    if not store.set(name, names[api], secret):
        print(f"Not saved: {store.status}.", file=sys.stderr)
        return 1
    print(f"{api.capitalize()} API token of {name!r} stored in the OS keyring.")
    return 0


# -- assets --------------------------------------------------------------------------------
