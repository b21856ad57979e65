"""Async access to the R2 catalog bucket over the S3 API (boto3).

boto3 is blocking, so every call runs in a bounded thread pool (``max_workers``, default 8)
and the event loop (the GUI's, through qasync) never waits on the network. Errors come back
as the typed exceptions of ``services.errors``; no botocore exception escapes this module.

Retries are botocore's own (``make_s3_client``; docs/platform.md "Store faults"): standard
mode, 3 attempts, 5 s to connect, 30 s per read, each settable per ``StorageConfig`` or by
the environment (``VIDEO_OPS_S3_RETRY_MODE``, ``VIDEO_OPS_S3_MAX_ATTEMPTS``,
``VIDEO_OPS_S3_CONNECT_TIMEOUT``, ``VIDEO_OPS_S3_READ_TIMEOUT``, in seconds). botocore
retries a request whose answer is a 5xx, a throttling code (``SlowDown``), a reset or
refused connection, a read timeout or a body cut short, as long as the body is read inside
the call (listings, HEAD, PUT); the body of a GET is streamed after the call returns, so a
fault there is not retried: it raises ``Unreachable`` naming the key.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hashlib
import os
import re
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    IncompleteReadError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.exceptions import ConnectTimeoutError as BotoConnectTimeout

from services.errors import (
    AccessDenied,
    BadConfig,
    NotFound,
    PreconditionFailed,
    ServiceError,
    Unreachable,
)

T = TypeVar("T")

_NOT_FOUND_CODES = {"NoSuchKey", "NoSuchBucket", "404", "NotFound"}
_DENIED_CODES = {
    "AccessDenied",
    "403",
    "Forbidden",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
}
_PRECONDITION_CODES = {"PreconditionFailed", "412"}
_RETRY_MODES = ("standard", "adaptive")
_MD5_ETAG = re.compile(r"^[0-9a-f]{32}$")


def _env_number(name: str, default: float, kind: type = float) -> Any:
    """``kind(os.environ[name])`` or ``default`` when unset; raises ``BadConfig`` when the
    variable is not a number."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return kind(text)
    except ValueError:
        raise BadConfig(f"{name}={text!r} is not a number.") from None


def _env_retry_mode() -> str:
    return os.environ.get("VIDEO_OPS_S3_RETRY_MODE", "").strip() or "standard"


@dataclass(frozen=True)
class StorageConfig:
    """Where the catalog lives: an S3-compatible endpoint (R2: ``region="auto"``) and bucket.

    The secret is excluded from ``repr`` so a config never ends up in a log in clear.

    botocore's retries and timeouts (``make_s3_client``): ``retry_mode`` ``"standard"`` or
    ``"adaptive"``, ``max_attempts`` (the first try included), ``connect_timeout_s`` and
    ``read_timeout_s`` in seconds (the read timeout bounds each wait for bytes, so a stalled
    store fails a request after about ``max_attempts x read_timeout_s``). Their defaults come
    from the environment (``VIDEO_OPS_S3_RETRY_MODE``, ``VIDEO_OPS_S3_MAX_ATTEMPTS``,
    ``VIDEO_OPS_S3_CONNECT_TIMEOUT``, ``VIDEO_OPS_S3_READ_TIMEOUT``), else standard, 3, 5 s
    and 30 s. Building a config raises ``BadConfig`` when such a variable is not a number.
    """

    endpoint_url: str
    bucket: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    region: str = "auto"
    retry_mode: str = field(default_factory=_env_retry_mode)
    max_attempts: int = field(
        default_factory=lambda: _env_number("VIDEO_OPS_S3_MAX_ATTEMPTS", 3, int)
    )
    connect_timeout_s: float = field(
        default_factory=lambda: _env_number("VIDEO_OPS_S3_CONNECT_TIMEOUT", 5.0)
    )
    read_timeout_s: float = field(
        default_factory=lambda: _env_number("VIDEO_OPS_S3_READ_TIMEOUT", 30.0)
    )

    def validate(self) -> None:
        """Raise ``BadConfig`` when the endpoint is not an http(s) URL, a field is empty, or
        the retry settings are out of range (mode not standard/adaptive, 1-10 attempts,
        timeouts not positive)."""
        if not self.endpoint_url.startswith(("http://", "https://")):
            raise BadConfig(f"Endpoint {self.endpoint_url!r} is not an http(s) URL.")
        if not self.bucket:
            raise BadConfig("The profile has no bucket name.")
        if not self.access_key_id or not self.secret_access_key:
            raise BadConfig("The profile has no S3 credentials (set them in the profile dialog).")
        if self.retry_mode not in _RETRY_MODES:
            raise BadConfig(f"S3 retry mode {self.retry_mode!r} is not standard or adaptive.")
        if not 1 <= self.max_attempts <= 10:
            raise BadConfig(f"S3 max attempts {self.max_attempts} is not between 1 and 10.")
        if self.connect_timeout_s <= 0 or self.read_timeout_s <= 0:
            raise BadConfig(
                f"S3 timeouts must be positive (connect {self.connect_timeout_s} s, "
                f"read {self.read_timeout_s} s)."
            )


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object: ``size`` in bytes, ``etag`` without quotes, ``last_modified`` UTC;
    ``sha256`` is the store's SHA-256 checksum in hex when asked for and recorded (HEAD with
    ``ChecksumMode=ENABLED`` of an object written with ``ChecksumAlgorithm="SHA256"``)."""

    key: str
    size: int
    etag: str
    last_modified: datetime | None
    sha256: str | None = None


@dataclass(frozen=True)
class ListingPage:
    """One ListObjectsV2 page: sub-prefixes (with ``Delimiter``) and objects, in key order."""

    prefixes: tuple[str, ...]
    objects: tuple[ObjectInfo, ...]
    next_token: str | None


@dataclass(frozen=True)
class ObjectBody:
    """A fully read object (for small objects: playlists, ``meta.json``, ledgers)."""

    key: str
    data: bytes
    etag: str
    content_type: str | None


def make_s3_client(config: StorageConfig, *, max_pool_connections: int = 16) -> Any:
    """A boto3 S3 client for ``config``, path-style addressing, with botocore's retries:
    ``config.retry_mode`` (standard: exponential backoff with jitter, at most 20 s, and a
    retry quota per client), ``config.max_attempts`` tries, ``config.connect_timeout_s``
    (short, so an unreachable endpoint is reported in seconds) and ``config.read_timeout_s``.

    Raises ``BadConfig`` when the config is incomplete or its retry settings are invalid.
    """
    config.validate()
    return boto3.session.Session().client(
        "s3",
        endpoint_url=config.endpoint_url,
        region_name=config.region,
        aws_access_key_id=config.access_key_id,
        aws_secret_access_key=config.secret_access_key,
        config=Config(
            retries={"mode": config.retry_mode, "total_max_attempts": config.max_attempts},
            connect_timeout=config.connect_timeout_s,
            read_timeout=config.read_timeout_s,
            max_pool_connections=max_pool_connections,
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


def translate_error(exc: BaseException, key: str | None = None) -> ServiceError:
    """Map a botocore exception to the ``services.errors`` type the operator can act on."""
    where = f" ({key})" if key else ""
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        if code in _NOT_FOUND_CODES or status == "404":
            if code == "NoSuchBucket":
                return NotFound(f"The bucket does not exist{where}.", key)
            return NotFound(f"Object not found{where}.", key)
        if code in _DENIED_CODES or status == "403":
            return AccessDenied(
                f"Access denied by the store{where}: check the profile's credentials "
                f"and the bucket's permissions ({code or status})."
            )
        if code in _PRECONDITION_CODES or status == "412":
            return PreconditionFailed(f"The object changed meanwhile{where} (HTTP 412).")
        message = exc.response.get("Error", {}).get("Message") or code or status
        if status.startswith("5") or code == "SlowDown":
            attempts = int(exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)) + 1
            tries = f" after {attempts} attempts" if attempts > 1 else ""
            return ServiceError(
                f"The store is failing{where}: HTTP {status or '5xx'} {code}{tries} "
                f"({message}). Retry later."
            )
        return ServiceError(f"The store answered an error{where}: {message}.")
    if isinstance(exc, ReadTimeoutError):
        return Unreachable(
            f"The store did not answer in time{where} (read timeout). Check the endpoint and "
            "network."
        )
    if isinstance(exc, ResponseStreamingError | IncompleteReadError):
        return Unreachable(f"The connection to the store broke mid-answer{where}: {exc}.")
    if isinstance(exc, EndpointConnectionError | BotoConnectTimeout | ConnectionClosedError):
        return Unreachable(f"Cannot reach the store: {exc}. Check the endpoint and network.")
    if isinstance(exc, NoCredentialsError):
        return BadConfig("No S3 credentials are configured for this profile.")
    if isinstance(exc, ParamValidationError | ValueError):
        return BadConfig(f"Invalid storage request or configuration: {exc}")
    if isinstance(exc, BotoCoreError):
        return Unreachable(f"Storage request failed: {exc}")
    return ServiceError(f"Storage request failed: {exc}")


def _strip_etag(etag: str | None) -> str:
    return (etag or "").strip('"')


def _hex(answer: dict[str, Any]) -> str | None:
    value = answer.get("ChecksumSHA256")
    if not value or "-" in value:  # absent, or a multipart composite checksum
        return None
    try:
        return base64.b64decode(value, validate=True).hex()
    except (binascii.Error, ValueError):
        return None


def object_info(entry: dict[str, Any]) -> ObjectInfo:
    """Build an ``ObjectInfo`` from a ListObjectsV2 ``Contents`` entry or a HEAD answer."""
    return ObjectInfo(
        key=entry.get("Key", ""),
        size=int(entry.get("Size", entry.get("ContentLength", 0))),
        etag=_strip_etag(entry.get("ETag")),
        last_modified=entry.get("LastModified"),
    )


class Storage:
    """Async facade over one bucket. Methods raise ``services.errors`` types only.

    ``max_workers`` bounds the threads running boto3 calls (and so the concurrent requests).
    """

    def __init__(self, config: StorageConfig, *, max_workers: int = 8) -> None:
        self.config = config
        self._client = make_s3_client(config, max_pool_connections=max_workers * 2)
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="s3")

    @property
    def bucket(self) -> str:
        return self.config.bucket

    @property
    def client(self) -> Any:
        """The underlying boto3 client, for synchronous callers on worker threads."""
        return self._client

    async def _run(self, fn: Callable[..., T], *args: Any, key: str | None = None, **kw: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kw))
        except Exception as exc:  # every botocore failure becomes a typed service error
            raise translate_error(exc, key) from exc

    async def list_page(
        self,
        prefix: str,
        *,
        delimiter: str | None = "/",
        token: str | None = None,
        max_keys: int = 1000,
    ) -> ListingPage:
        """One ListObjectsV2 page under ``prefix`` (``token`` continues a previous page)."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": max_keys}
        if delimiter:
            params["Delimiter"] = delimiter
        if token:
            params["ContinuationToken"] = token
        answer = await self._run(self._client.list_objects_v2, key=prefix, **params)
        return ListingPage(
            prefixes=tuple(p["Prefix"] for p in answer.get("CommonPrefixes", ())),
            objects=tuple(object_info(o) for o in answer.get("Contents", ())),
            next_token=answer.get("NextContinuationToken") if answer.get("IsTruncated") else None,
        )

    async def iter_pages(
        self, prefix: str, *, delimiter: str | None = "/", max_keys: int = 1000
    ) -> AsyncIterator[ListingPage]:
        """Yield listing pages as they arrive (the caller can paint page 1 while page 2 loads)."""
        token: str | None = None
        while True:
            page = await self.list_page(prefix, delimiter=delimiter, token=token, max_keys=max_keys)
            yield page
            if not page.next_token:
                return
            token = page.next_token

    async def list_all(self, prefix: str, *, delimiter: str | None = None) -> ListingPage:
        """Every object (and sub-prefix) under ``prefix``, all pages merged."""
        prefixes: list[str] = []
        objects: list[ObjectInfo] = []
        async for page in self.iter_pages(prefix, delimiter=delimiter):
            prefixes.extend(page.prefixes)
            objects.extend(page.objects)
        return ListingPage(tuple(prefixes), tuple(objects), None)

    async def head(self, key: str) -> ObjectInfo:
        """HEAD one object. Raises ``NotFound`` when absent."""
        answer = await self._run(self._client.head_object, key=key, Bucket=self.bucket, Key=key)
        return object_info({**answer, "Key": key})

    async def head_with_checksum(self, key: str) -> ObjectInfo:
        """HEAD one object asking for its stored SHA-256 (``ObjectInfo.sha256``, None when
        the object was written without one). Raises ``NotFound`` when absent."""
        answer = await self._run(
            self._client.head_object, key=key, Bucket=self.bucket, Key=key, ChecksumMode="ENABLED"
        )
        info = object_info({**answer, "Key": key})
        return ObjectInfo(info.key, info.size, info.etag, info.last_modified, _hex(answer))

    async def put(
        self,
        key: str,
        data: bytes,
        *,
        sha256: str,
        content_type: str,
        if_none_match: bool = False,
        if_match: str | None = None,
        cache_control: str | None = None,
    ) -> ObjectInfo:
        """PUT ``data`` at ``key`` with ``ChecksumAlgorithm="SHA256"`` and the given hex
        ``sha256``, so the store verifies what it receives (docs/contracts.md §1.1).

        ``if_none_match=True`` writes only if the key is absent (``If-None-Match: *``);
        ``if_match`` writes only over that ETag. A lost condition raises
        ``PreconditionFailed`` (HTTP 412); also ``AccessDenied``, ``Unreachable``, and
        ``ServiceError`` when the store's answer shows it kept other bytes than were sent
        (a single-part ETag that is not the MD5 of ``data``: a short or damaged write that a
        store not verifying the checksum accepted). botocore retries 5xx, throttling, resets
        and timeouts (module docstring); a write that lands twice lands the same bytes.
        """
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": data,
            "ContentType": content_type,
            "ChecksumAlgorithm": "SHA256",
            "ChecksumSHA256": base64.b64encode(bytes.fromhex(sha256)).decode("ascii"),
        }
        if if_none_match:
            params["IfNoneMatch"] = "*"
        if if_match is not None:
            params["IfMatch"] = f'"{if_match}"'
        if cache_control:
            params["CacheControl"] = cache_control
        answer = await self._run(self._client.put_object, key=key, **params)
        etag = _strip_etag(answer.get("ETag"))
        if _MD5_ETAG.match(etag):
            md5 = await asyncio.get_running_loop().run_in_executor(
                self._executor,
                lambda: hashlib.md5(data).hexdigest(),  # noqa: S324 - the store's ETag
            )
            if etag != md5:
                raise ServiceError(
                    f"The store kept other bytes than the {len(data)} sent for {key} (its ETag "
                    f"{etag} is not their MD5 {md5}): a short or damaged write. Write it again."
                )
        return ObjectInfo(key, len(data), etag, None, sha256)

    async def get(self, key: str, *, max_bytes: int = 16 * 1024 * 1024) -> ObjectBody:
        """GET a small object whole (playlists, JSON). Raises ``NotFound``, ``AccessDenied``,
        ``Unreachable``, or ``ServiceError`` when it is larger than ``max_bytes``."""

        def fetch() -> ObjectBody:
            answer = self._client.get_object(Bucket=self.bucket, Key=key)
            if int(answer.get("ContentLength", 0)) > max_bytes:
                answer["Body"].close()
                raise ServiceError(f"{key} is larger than {max_bytes} bytes; not read whole.")
            return ObjectBody(
                key=key,
                data=answer["Body"].read(),
                etag=_strip_etag(answer.get("ETag")),
                content_type=answer.get("ContentType"),
            )

        return await self._run(fetch, key=key)

    def presign_get(self, key: str, expires_s: int = 3600) -> str:
        """A presigned GET URL for ``key`` valid ``expires_s`` seconds (local signing, no I/O).

        Note: a presigned *playlist* does not play (its children are fetched unsigned); use
        the playback gateway for playback and presigned URLs for sharing single objects.
        """
        if not 1 <= expires_s <= 7 * 24 * 3600:
            raise BadConfig("A presigned URL expires after 1 second to 7 days.")
        try:
            return self._client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_s
            )
        except Exception as exc:
            raise translate_error(exc, key) from exc

    def close(self) -> None:
        """Stop the worker threads (pending calls finish first)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
