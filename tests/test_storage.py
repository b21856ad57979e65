"""services.storage against a real moto S3 server over HTTP: listing, reads, presigned URLs,
and the typed errors (NotFound, AccessDenied, Unreachable, BadConfig)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import datetime
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from services.errors import (
    AccessDenied,
    BadConfig,
    NotFound,
    PreconditionFailed,
    ServiceError,
    Unreachable,
)
from services.storage import Storage, StorageConfig, translate_error
from tests.conftest import closed_port, moto_iam_auth, s3_client, upload_game


def run(coro):
    return asyncio.run(coro)


@pytest.fixture
def game(storage_config: StorageConfig, v1_hls_dir: Path) -> list[str]:
    return upload_game(storage_config, "g1", v1_hls_dir, meta={"title": "Bunny", "league": "NFL"})


# --- reads --------------------------------------------------------------------------------


def test_list_page_with_delimiter(storage_config: StorageConfig, game: list[str]) -> None:
    s3_client(storage_config).put_object(
        Bucket=storage_config.bucket, Key="games/g2/master.m3u8", Body=b"#EXTM3U\n"
    )

    async def go():
        storage = Storage(storage_config)
        try:
            top = await storage.list_page("games/")
            inside = await storage.list_page("games/g1/")
        finally:
            storage.close()
        return top, inside

    top, inside = run(go())
    assert top.prefixes == ("games/g1/", "games/g2/")
    assert top.objects == ()
    assert top.next_token is None
    assert sorted(o.key for o in inside.objects) == sorted(game)
    assert inside.prefixes == ()


def test_iter_pages_follows_continuation_tokens(
    storage_config: StorageConfig, game: list[str]
) -> None:
    async def go():
        storage = Storage(storage_config)
        try:
            pages = [p async for p in storage.iter_pages("games/g1/", delimiter=None, max_keys=5)]
            merged = await storage.list_all("games/g1/")
        finally:
            storage.close()
        return pages, merged

    pages, merged = run(go())
    assert [len(p.objects) for p in pages] == [5, 5, 4]  # 14 objects
    assert all(p.next_token for p in pages[:-1]) and pages[-1].next_token is None
    keys = [o.key for p in pages for o in p.objects]
    assert keys == sorted(game)
    assert [o.key for o in merged.objects] == keys


def test_get_and_head_agree_with_the_stored_bytes(
    storage_config: StorageConfig, v1_hls_dir: Path, game: list[str]
) -> None:
    data = (v1_hls_dir / "master.m3u8").read_bytes()
    s3_client(storage_config).put_object(
        Bucket=storage_config.bucket,
        Key="games/g1/typed.m3u8",
        Body=data,
        ContentType="application/vnd.apple.mpegurl",
    )

    async def go():
        storage = Storage(storage_config)
        try:
            return (
                await storage.get("games/g1/master.m3u8"),
                await storage.head("games/g1/master.m3u8"),
                await storage.get("games/g1/typed.m3u8"),
                await storage.head("games/g1/init.mp4"),
            )
        finally:
            storage.close()

    body, info, typed, init = run(go())
    assert body.key == "games/g1/master.m3u8"
    assert body.data == data
    assert body.etag == hashlib.md5(data).hexdigest()  # moto: single-part ETag = MD5
    assert '"' not in body.etag
    assert info.key == "games/g1/master.m3u8"
    assert info.size == len(data)
    assert info.etag == body.etag
    assert isinstance(info.last_modified, datetime) and info.last_modified.tzinfo is not None
    assert typed.content_type == "application/vnd.apple.mpegurl"
    assert init.size == (v1_hls_dir / "init.mp4").stat().st_size


def test_list_objects_carry_size_etag_and_time(
    storage_config: StorageConfig, v1_hls_dir: Path, game: list[str]
) -> None:
    async def go():
        storage = Storage(storage_config)
        try:
            return await storage.list_all("games/g1/")
        finally:
            storage.close()

    listing = run(go())
    by_key = {o.key: o for o in listing.objects}
    seg = v1_hls_dir / "seg_00004.m4s"
    entry = by_key["games/g1/seg_00004.m4s"]
    assert entry.size == seg.stat().st_size
    assert entry.etag == hashlib.md5(seg.read_bytes()).hexdigest()
    assert isinstance(entry.last_modified, datetime)


def test_get_refuses_an_object_larger_than_max_bytes(
    storage_config: StorageConfig, game: list[str]
) -> None:
    async def go():
        storage = Storage(storage_config)
        try:
            await storage.get("games/g1/seg_00000.m4s", max_bytes=1024)
        finally:
            storage.close()

    with pytest.raises(ServiceError) as caught:
        run(go())
    assert "larger than 1024 bytes" in str(caught.value)


# --- NotFound -------------------------------------------------------------------------------


def test_missing_key_is_not_found(storage_config: StorageConfig, game: list[str]) -> None:
    async def go(method: str):
        storage = Storage(storage_config)
        try:
            await getattr(storage, method)("games/g1/seg_99999.m4s")
        finally:
            storage.close()

    for method in ("get", "head"):
        with pytest.raises(NotFound) as caught:
            run(go(method))
        assert caught.value.key == "games/g1/seg_99999.m4s"
        assert "games/g1/seg_99999.m4s" in str(caught.value)


def test_missing_bucket_is_not_found(moto_endpoint: str) -> None:
    config = StorageConfig(moto_endpoint, "no-such-bucket-here", "test", "test-secret")

    async def go(call):
        storage = Storage(config)
        try:
            await call(storage)
        finally:
            storage.close()

    with pytest.raises(NotFound) as listing:
        run(go(lambda s: s.list_page("games/")))
    assert "bucket does not exist" in str(listing.value)
    with pytest.raises(NotFound) as getting:
        run(go(lambda s: s.get("games/g1/master.m3u8")))
    assert "bucket does not exist" in str(getting.value)


def test_empty_prefix_lists_nothing(storage_config: StorageConfig) -> None:
    async def go():
        storage = Storage(storage_config)
        try:
            return await storage.list_all("games/")
        finally:
            storage.close()

    listing = run(go())
    assert listing.objects == () and listing.prefixes == ()


# --- AccessDenied (a real 403 from moto in IAM mode) -----------------------------------------


def test_unknown_access_key_is_access_denied(
    storage_config: StorageConfig, game: list[str], moto_endpoint: str
) -> None:
    async def go(call):
        storage = Storage(storage_config)
        try:
            await call(storage)
        finally:
            storage.close()

    with moto_iam_auth(moto_endpoint):
        with pytest.raises(AccessDenied) as getting:
            run(go(lambda s: s.get("games/g1/master.m3u8")))
        with pytest.raises(AccessDenied) as listing:
            run(go(lambda s: s.list_page("games/")))
    assert "InvalidAccessKeyId" in str(getting.value)
    assert "credentials" in str(getting.value)
    assert "InvalidAccessKeyId" in str(listing.value)
    # back in moto's default mode the same config reads again
    run(go(lambda s: s.head("games/g1/master.m3u8")))


def test_iam_user_without_permission_is_access_denied(
    storage_config: StorageConfig, game: list[str], moto_endpoint: str
) -> None:
    iam = boto3.client(
        "iam",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test-secret",
    )
    user = f"ops-{storage_config.bucket}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    allowed = StorageConfig(
        moto_endpoint, storage_config.bucket, key["AccessKeyId"], key["SecretAccessKey"]
    )
    wrong_secret = StorageConfig(
        moto_endpoint, storage_config.bucket, key["AccessKeyId"], "not-the-secret"
    )

    async def go(config: StorageConfig):
        storage = Storage(config)
        try:
            await storage.get("games/g1/master.m3u8")
        finally:
            storage.close()

    with moto_iam_auth(moto_endpoint):
        with pytest.raises(AccessDenied) as no_policy:
            run(go(allowed))
        with pytest.raises(AccessDenied) as bad_signature:
            run(go(wrong_secret))
    assert "(AccessDenied)" in str(no_policy.value)
    assert "SignatureDoesNotMatch" in str(bad_signature.value)


def test_translate_error_on_botocore_responses() -> None:
    """The mapping for answers moto does not produce (R2's 403 without a code, a 412)."""

    def client_error(code: str, status: int) -> ClientError:
        response = {
            "Error": {"Code": code, "Message": f"{code} message"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return ClientError(response, "GetObject")

    assert isinstance(translate_error(client_error("403", 403), "k"), AccessDenied)
    assert isinstance(translate_error(client_error("", 403), "k"), AccessDenied)
    assert isinstance(translate_error(client_error("ExpiredToken", 400)), AccessDenied)
    assert isinstance(translate_error(client_error("PreconditionFailed", 412)), PreconditionFailed)
    other = translate_error(client_error("SlowDown", 503), "k")
    assert type(other) is ServiceError
    assert "SlowDown message" in str(other)
    already = NotFound("gone", "k")
    assert translate_error(already) is already


# --- Unreachable and BadConfig ----------------------------------------------------------------


def test_closed_port_is_unreachable_within_seconds() -> None:
    port = closed_port()
    config = StorageConfig(f"http://127.0.0.1:{port}", "griddy-video", "k", "s")

    async def go():
        storage = Storage(config)
        try:
            await storage.list_page("games/")
        finally:
            storage.close()

    started = time.monotonic()
    with pytest.raises(Unreachable) as caught:
        run(go())
    elapsed = time.monotonic() - started
    assert elapsed < 10
    assert f"127.0.0.1:{port}" in str(caught.value)


@pytest.mark.parametrize(
    ("endpoint", "bucket", "key_id", "secret", "words"),
    [
        ("ftp://127.0.0.1:9000", "griddy-video", "k", "s", "not an http(s) URL"),
        ("127.0.0.1:9000", "griddy-video", "k", "s", "not an http(s) URL"),
        ("http://127.0.0.1:9000", "", "k", "s", "no bucket"),
        ("http://127.0.0.1:9000", "griddy-video", "", "s", "credentials"),
        ("http://127.0.0.1:9000", "griddy-video", "k", "", "credentials"),
    ],
)
def test_bad_config(endpoint: str, bucket: str, key_id: str, secret: str, words: str) -> None:
    config = StorageConfig(endpoint, bucket, key_id, secret)
    with pytest.raises(BadConfig) as caught:
        Storage(config)
    assert words in str(caught.value)


def test_secret_is_not_in_the_config_repr() -> None:
    config = StorageConfig("https://acct.r2.cloudflarestorage.com", "b", "AKID", "sekrit-123")
    assert "sekrit-123" not in repr(config)
    assert "AKID" in repr(config)


# --- presigned URLs ------------------------------------------------------------------------


def test_presigned_url_is_readable_with_httpx(
    storage_config: StorageConfig, v1_hls_dir: Path, game: list[str]
) -> None:
    storage = Storage(storage_config)
    try:
        url = storage.presign_get("games/g1/seg_00001.m4s", expires_s=120)
    finally:
        storage.close()
    assert url.startswith(storage_config.endpoint_url)
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=120" in url
    answer = httpx.get(url, timeout=10)
    assert answer.status_code == 200
    assert answer.content == (v1_hls_dir / "seg_00001.m4s").read_bytes()


@pytest.mark.parametrize("expires", [0, -5, 7 * 24 * 3600 + 1])
def test_presign_rejects_an_expiry_out_of_range(
    storage_config: StorageConfig, expires: int
) -> None:
    storage = Storage(storage_config)
    try:
        with pytest.raises(BadConfig):
            storage.presign_get("games/g1/master.m3u8", expires_s=expires)
        assert storage.presign_get("games/g1/master.m3u8", expires_s=7 * 24 * 3600)
    finally:
        storage.close()
