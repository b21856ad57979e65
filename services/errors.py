"""Typed errors raised by the services.

Every service raises one of these (never a raw botocore/httpx exception) and
``describe(exc)`` maps each type to one sentence the operator can act on: what happened,
then what to do. The GUI's error display and the CLI both print that sentence.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error a service raises; ``str(err)`` is a readable sentence."""


class BadConfig(ServiceError):
    """The profile is unusable (bad endpoint URL, missing bucket name, missing credentials)."""


class NotFound(ServiceError):
    """The bucket, object or resource does not exist (S3 404 / NoSuchKey / NoSuchBucket)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class AccessDenied(ServiceError):
    """The credentials were refused (S3 403 AccessDenied / InvalidAccessKeyId / signature)."""


class Unreachable(ServiceError):
    """The endpoint could not be reached (connection refused, DNS, timeout, TLS)."""


class PreconditionFailed(ServiceError):
    """A conditional write lost (HTTP 412): someone changed the object meanwhile."""


class PlaylistError(ServiceError):
    """A playlist is malformed (RFC 8216 violation); ``line`` is 1-based when known."""

    def __init__(self, message: str, *, uri: str | None = None, line: int | None = None) -> None:
        where = uri or "playlist"
        if line is not None:
            where = f"{where}, line {line}"
        super().__init__(f"{where}: {message}")
        self.reason = message
        self.uri = uri
        self.line = line


class MediaError(ServiceError):
    """A media object cannot be decoded (truncated, not video, unsupported codec)."""


class NotVerified(MediaError):
    """A backfilled (v1.5) game whose stored objects, anchor or master do not match its
    ledger. ``advice`` is the next step for this game (what ``--force`` would redo, or why
    it must not be used), given instead of the generic one."""

    def __init__(self, message: str, advice: str) -> None:
        super().__init__(message)
        self.advice = advice


class KeyringUnavailable(ServiceError):
    """No usable OS keyring (no Secret Service/Keychain): secrets are kept for this session only."""


class Conflict(ServiceError):
    """HTTP 409: the resource changed meanwhile (e.g. an asset is no longer retryable);
    ``current_status`` is what the server says it is now, when it says."""

    def __init__(self, message: str, current_status: str | None = None) -> None:
        super().__init__(message)
        self.current_status = current_status


class UpstreamError(ServiceError):
    """The service answered 5xx (after the bounded retries for idempotent requests)."""


class BadResponse(ServiceError):
    """The service answered something that is not the documented JSON shape."""


class Rejected(ServiceError):
    """The service refused the request as invalid (HTTP 400/422); the message carries the
    service's own reason. Nothing was changed."""


_ADVICE: tuple[tuple[type[BaseException], str], ...] = (
    (Unreachable, "Check the network and the profile's endpoint, then retry."),
    (AccessDenied, "Check the profile's keys or token in the keyring and its permissions."),
    (Conflict, "It changed meanwhile: refresh, look at its new state, then decide."),
    (UpstreamError, "The service is failing on its side; retry later or tell its on-call."),
    (BadResponse, "The service answered something unexpected; nothing was changed here."),
    (NotFound, "Refresh the catalog: the object may have been moved or never written."),
    (PlaylistError, "The playlist is malformed; it was not played. Inspect it in the detail."),
    (PreconditionFailed, "Someone changed it meanwhile: refresh and look before retrying."),
    (BadConfig, "Fix the profile (Profile menu) and try again."),
    (Rejected, "Nothing was changed: correct the request and send it again."),
    (MediaError, "The media cannot be decoded; run a spot-check on this game."),
    (KeyringUnavailable, "Secrets are kept for this session only."),
)


def describe(exc: BaseException) -> str:
    """One readable paragraph for ``exc``: what happened, then what to do."""
    if isinstance(exc, ServiceError):
        advice = getattr(exc, "advice", "") or next(
            (a for t, a in _ADVICE if isinstance(exc, t)), ""
        )
        return f"{exc} {advice}".strip()
    if isinstance(exc, TimeoutError):
        return "The operation timed out. Check the network and retry."
    if isinstance(exc, OSError):
        return f"System error: {exc.strerror or exc}."
    return f"Unexpected error ({type(exc).__name__}: {exc}). Details are in the log file."
