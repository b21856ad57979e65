"""A keyring backend for child processes in tests: a JSON file named by
``$VIDEO_OPS_TEST_KEYRING`` (``{service: {username: password}}``). Tests only: a console
started with ``PYTHON_KEYRING_BACKEND=tests.file_keyring.JsonFileKeyring`` reads the keys a
test wrote, where the parent's in-memory keyring is out of reach."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend

ENV = "VIDEO_OPS_TEST_KEYRING"


class JsonFileKeyring(KeyringBackend):
    priority = 1

    @staticmethod
    def _path() -> Path:
        return Path(os.environ[ENV])

    def _load(self) -> dict:
        path = self._path()
        return json.loads(path.read_text()) if path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data.setdefault(service, {})[username] = password
        self._path().write_text(json.dumps(data))

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        data.get(service, {}).pop(username, None)
        self._path().write_text(json.dumps(data))
