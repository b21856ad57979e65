"""Typed errors raised by the services.

Every service raises one of these (never a raw botocore/httpx exception) so the app shell
can map each type to one sentence the operator can act on (``console.errors``).
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
