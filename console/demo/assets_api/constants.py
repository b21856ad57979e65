"""Constants of the demo assets API: tokens, statuses, seed parameters, limits, the logger."""

import logging

log = logging.getLogger("console.demo.assets_api")

DEMO_TOKEN = "demo-ops-token"
"""The demo API's bearer token. Not a secret: the demo runs on loopback only and publishes
it in ``stack.json`` (``assets_api_token``) so the console can log in without setup."""

READONLY_TOKEN = "demo-readonly"
"""A second, fixed demo token accepted for GETs only (retry answers 403)."""

DB_FILE = "assets.sqlite3"
"""The service's database under the demo dir; persisted across runs."""

STATUSES = ("queued", "processing", "completed", "failed", "retrying")
RETRYABLE_STATUSES = frozenset({"failed"})
"""Statuses from which a retry is accepted (else 409)."""

SEED_VERSION = 1
SEED_RANDOM = 20261122
SEED_ASSETS = 400
SEED_DAYS = 14

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
PROVIDER = "mux"
