"""services.credentials (secrets in the OS keyring only) and console.profiles (profiles.toml
in the config dir, never a secret in it)."""

from __future__ import annotations

import tomllib
import uuid
from pathlib import Path

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from console.profiles import (
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    Profile,
    load_profiles,
    profiles_path,
    save_profile,
)
from services.credentials import SERVICE, CredentialStore, backend_is_usable
from services.errors import BadConfig
from services.storage import StorageConfig


def unique(prefix: str) -> str:
    """A profile name no other test used (the in-memory keyring lives for the session)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class PlaintextKeyring(KeyringBackend):
    """Stands for keyrings.alt's file backends, which write secrets to disk in clear."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.written: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.written.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.written[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.written.pop((service, username), None)


PlaintextKeyring.__module__ = "keyrings.alt.file"


class LockedKeyring(KeyringBackend):
    """A keyring that exists but refuses every write (a locked collection)."""

    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("the collection is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError("not found")


# --- the credential store ------------------------------------------------------------------


def test_round_trip_in_the_os_keyring() -> None:
    profile = unique("prod")
    store = CredentialStore()
    assert store.persistent is True
    assert "OS keyring" in store.status
    assert store.get(profile, ACCESS_KEY_ID) is None

    assert store.set(profile, ACCESS_KEY_ID, "AKIA-round-trip") is True
    assert store.get(profile, ACCESS_KEY_ID) == "AKIA-round-trip"
    # it went to the keyring itself, under the app's service name
    assert keyring.get_keyring().get_password(SERVICE, f"{profile}:{ACCESS_KEY_ID}") == (
        "AKIA-round-trip"
    )
    # a new store (a later session) reads it from the keyring
    assert CredentialStore().get(profile, ACCESS_KEY_ID) == "AKIA-round-trip"

    store.delete(profile, ACCESS_KEY_ID)
    assert store.get(profile, ACCESS_KEY_ID) is None
    assert CredentialStore().get(profile, ACCESS_KEY_ID) is None
    store.delete(profile, ACCESS_KEY_ID)  # absent is fine


def test_secrets_are_per_profile_and_per_name() -> None:
    one, two = unique("one"), unique("two")
    store = CredentialStore()
    store.set(one, ACCESS_KEY_ID, "id-1")
    store.set(one, SECRET_ACCESS_KEY, "secret-1")
    store.set(two, ACCESS_KEY_ID, "id-2")
    assert store.get(one, ACCESS_KEY_ID) == "id-1"
    assert store.get(one, SECRET_ACCESS_KEY) == "secret-1"
    assert store.get(two, ACCESS_KEY_ID) == "id-2"
    assert store.get(two, SECRET_ACCESS_KEY) is None


def test_fail_backend_keeps_secrets_for_the_session_only() -> None:
    profile = unique("nokeyring")
    store = CredentialStore(fail.Keyring())
    assert store.persistent is False
    assert "session only" in store.status

    assert store.set(profile, SECRET_ACCESS_KEY, "kept-in-memory") is False
    assert store.get(profile, SECRET_ACCESS_KEY) == "kept-in-memory"
    # nothing survives the session
    assert CredentialStore(fail.Keyring()).get(profile, SECRET_ACCESS_KEY) is None
    store.delete(profile, SECRET_ACCESS_KEY)
    assert store.get(profile, SECRET_ACCESS_KEY) is None


def test_plaintext_backend_is_refused() -> None:
    backend = PlaintextKeyring()
    assert type(backend).__module__ == "keyrings.alt.file"
    assert backend_is_usable(backend) is False

    profile = unique("alt")
    store = CredentialStore(backend)
    assert store.persistent is False
    assert store.set(profile, SECRET_ACCESS_KEY, "never-on-disk") is False
    assert backend.written == {}  # nothing reached the plaintext backend
    assert store.get(profile, SECRET_ACCESS_KEY) == "never-on-disk"


@pytest.mark.parametrize(
    ("backend", "usable"),
    [
        (fail.Keyring(), False),
        (PlaintextKeyring(), False),
        (LockedKeyring(), True),
    ],
)
def test_backend_is_usable(backend: KeyringBackend, usable: bool) -> None:
    assert backend_is_usable(backend) is usable


def test_the_conftest_memory_keyring_is_usable() -> None:
    assert backend_is_usable(keyring.get_keyring()) is True


def test_a_keyring_refusing_writes_degrades_to_session_only() -> None:
    profile = unique("locked")
    store = CredentialStore(LockedKeyring())
    assert store.persistent is True
    assert store.set(profile, ACCESS_KEY_ID, "still-usable") is False
    assert store.persistent is False
    assert "session only" in store.status
    assert store.get(profile, ACCESS_KEY_ID) == "still-usable"


# --- profiles -----------------------------------------------------------------------------


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config"
    monkeypatch.setenv("VIDEO_OPS_CONFIG_DIR", str(path))
    return path


def prod_profile(name: str = "prod") -> Profile:
    return Profile(
        name=name,
        endpoint_url="https://acct123.r2.cloudflarestorage.com",
        bucket="griddy-video",
        ssai_url="https://ssai.example.com",
        assets_api_url="https://api.example.com",
    )


def test_no_file_means_no_profiles(config_dir: Path) -> None:
    assert profiles_path() == config_dir / "profiles.toml"
    assert load_profiles() == ({}, None)


def test_save_and_load_round_trip(config_dir: Path) -> None:
    prod = prod_profile()
    staging = Profile(name="staging", endpoint_url="http://127.0.0.1:9000", bucket="stage")
    save_profile(prod)
    save_profile(staging)

    path = config_dir / "profiles.toml"
    assert path.exists()
    assert not list(config_dir.glob("*.tmp"))  # written atomically, nothing left over
    profiles, default = load_profiles()
    assert default == "prod"  # the first profile saved becomes the default
    assert profiles == {"prod": prod, "staging": staging}

    save_profile(staging, make_default=True)
    assert load_profiles()[1] == "staging"
    # an explicit path works the same way
    assert load_profiles(path)[0]["prod"].ssai_url == "https://ssai.example.com"


def test_the_file_holds_no_secret(config_dir: Path) -> None:
    name = unique("prod")
    store = CredentialStore()
    store.set(name, ACCESS_KEY_ID, "AKIA-NOT-IN-FILE-1234")
    store.set(name, SECRET_ACCESS_KEY, "s3cr3t-NOT-IN-FILE-5678")
    profile = prod_profile(name)
    save_profile(profile, make_default=True)

    text = (config_dir / "profiles.toml").read_text()
    assert "AKIA-NOT-IN-FILE-1234" not in text
    assert "s3cr3t-NOT-IN-FILE-5678" not in text
    data = tomllib.loads(text)
    assert data["default"] == name
    assert set(data["profiles"][name]) == {
        "endpoint_url",
        "bucket",
        "region",
        "ssai_url",
        "assets_api_url",
    }

    config = profile.storage_config(store)
    assert isinstance(config, StorageConfig)
    assert config.access_key_id == "AKIA-NOT-IN-FILE-1234"
    assert config.secret_access_key == "s3cr3t-NOT-IN-FILE-5678"
    assert config.endpoint_url == profile.endpoint_url
    assert config.bucket == "griddy-video" and config.region == "auto"
    assert "s3cr3t-NOT-IN-FILE-5678" not in repr(config)


def test_storage_config_without_keys_is_bad_config() -> None:
    name = unique("keyless")
    store = CredentialStore()
    with pytest.raises(BadConfig) as caught:
        prod_profile(name).storage_config(store)
    assert name in str(caught.value)
    assert "profile set-keys" in str(caught.value)

    store.set(name, ACCESS_KEY_ID, "only-the-id")
    with pytest.raises(BadConfig):
        prod_profile(name).storage_config(store)


def test_storage_config_with_a_bad_endpoint_is_bad_config() -> None:
    name = unique("ftp")
    store = CredentialStore()
    store.set(name, ACCESS_KEY_ID, "id")
    store.set(name, SECRET_ACCESS_KEY, "secret")
    with pytest.raises(BadConfig) as caught:
        Profile(name=name, endpoint_url="ftp://files.example.com").storage_config(store)
    assert "ftp://files.example.com" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        'default = "prod"\n[profiles.prod\nendpoint_url = "https://x"\n',
        "default = \n",
        b"\xff\xfe not utf-8".decode("latin-1"),
    ],
    ids=["unclosed-table", "missing-value", "latin-1-bytes"],
)
def test_malformed_toml_is_bad_config_naming_the_file(config_dir: Path, text: str) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "profiles.toml"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(BadConfig) as caught:
        load_profiles()
    assert str(path) in str(caught.value)


def test_profile_without_endpoint_is_bad_config(config_dir: Path) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "profiles.toml"
    path.write_text('[profiles.prod]\nbucket = "griddy-video"\n')
    with pytest.raises(BadConfig) as caught:
        load_profiles()
    assert str(path) in str(caught.value) and "endpoint_url" in str(caught.value)


def test_undefined_default_is_bad_config(config_dir: Path) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "profiles.toml"
    path.write_text('default = "ghost"\n[profiles.prod]\nendpoint_url = "https://x"\n')
    with pytest.raises(BadConfig) as caught:
        load_profiles()
    assert "ghost" in str(caught.value)
