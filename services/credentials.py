"""Secrets (S3 keys, API tokens) in the OS keyring only, never in a file.

When no usable keyring exists (no D-Bus Secret Service, the ``fail`` backend, or a
plaintext backend from ``keyrings.alt``), secrets are kept in memory for this session only
and ``persistent`` is False so the UI can say so. There is no plaintext fallback.
"""

from __future__ import annotations

import keyring
import keyring.errors
from keyring.backend import KeyringBackend

SERVICE = "video-ops-console"

#: backends that would write secrets in clear or cannot store anything
_REFUSED_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


def backend_is_usable(backend: KeyringBackend) -> bool:
    """True when ``backend`` is a real OS keyring (Secret Service, Keychain, Credential
    Locker, KWallet, or a test's in-memory backend), not ``fail``/``null``/``keyrings.alt``."""
    module = type(backend).__module__
    if module.startswith(_REFUSED_MODULES):
        return False
    chained = getattr(backend, "backends", None)
    if chained is not None:  # keyring's ChainerBackend: usable if any member is
        return any(backend_is_usable(b) for b in chained)
    return True


class CredentialStore:
    """Per-profile secrets: ``get/set/delete(profile, name)``.

    ``persistent`` tells whether secrets survive the session (a usable OS keyring) or
    live in memory only. ``status`` is a sentence for the status bar.
    """

    def __init__(self, backend: KeyringBackend | None = None) -> None:
        self._backend = backend or keyring.get_keyring()
        self._session: dict[tuple[str, str], str] = {}
        self.persistent = backend_is_usable(self._backend)

    @property
    def status(self) -> str:
        if self.persistent:
            return f"secrets in the OS keyring ({type(self._backend).__name__})"
        return (
            "no OS keyring available (no Secret Service/Keychain): secrets are kept for "
            "this session only"
        )

    @staticmethod
    def _user(profile: str, name: str) -> str:
        return f"{profile}:{name}"

    def get(self, profile: str, name: str) -> str | None:
        """The secret, from the session cache first, then the keyring; None when unset."""
        cached = self._session.get((profile, name))
        if cached is not None or not self.persistent:
            return cached
        try:
            return self._backend.get_password(SERVICE, self._user(profile, name))
        except keyring.errors.KeyringError:
            self.persistent = False
            return None

    def set(self, profile: str, name: str, value: str) -> bool:
        """Store a secret; returns True when it went to the OS keyring, False when it is
        kept for this session only (the keyring refused or is absent)."""
        self._session[(profile, name)] = value
        if not self.persistent:
            return False
        try:
            self._backend.set_password(SERVICE, self._user(profile, name), value)
            return True
        except keyring.errors.KeyringError:
            self.persistent = False
            return False

    def delete(self, profile: str, name: str) -> None:
        """Forget a secret everywhere (absent is fine)."""
        self._session.pop((profile, name), None)
        if self.persistent:
            try:
                self._backend.delete_password(SERVICE, self._user(profile, name))
            except keyring.errors.PasswordDeleteError:
                pass
            except keyring.errors.KeyringError:
                self.persistent = False
