from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core import storage
from app.core.config import get_settings, override_settings
from app.core.embedded import EmbeddedS3
from app.core.storage import BucketWithoutObjectLock, Storage
from app.main import create_app
from tests.services import seaweedfs


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "s3": "ok", "ffmpeg": "ok"}


def test_metrics_count_requests_by_route(client: TestClient) -> None:
    client.get("/healthz")
    body = client.get("/metrics").text
    assert 'http_requests_total{method="GET",route="/healthz",status="200"}' in body
    assert "http_request_duration_seconds_bucket" in body


@pytest.fixture()
def own_s3(configured: str, tmp_path: Path) -> Iterator[EmbeddedS3]:
    """A second S3 server this test may stop, with the settings pointed at it for the test's duration."""
    before = get_settings()
    with seaweedfs(tmp_path) as server:
        override_settings(s3_endpoint=server.endpoint, s3_access_key=server.access_key, s3_secret_key=server.secret_key)
        storage.reset_storage()
        try:
            yield server
        finally:
            override_settings(**before.model_dump())
            storage.reset_storage()


def test_readyz_names_s3_when_the_server_stops(own_s3: EmbeddedS3) -> None:
    with TestClient(create_app()) as client:
        assert client.get("/readyz").status_code == 200
        own_s3.stop()
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["checks"] == {"database": "ok", "s3": "unavailable", "ffmpeg": "ok"}
    assert "s3" in body["detail"]
    assert response.headers["Retry-After"].isdigit()
    # Anyone may ask /readyz: no address, port or exception text of the backends in the answer.
    assert own_s3.endpoint not in response.text and "Error" not in response.text


def test_bucket_without_object_lock_is_refused_at_start(configured: str) -> None:
    plain = Storage(get_settings())
    plain.bucket = "no-lock-bucket"
    if not plain.client.bucket_exists(plain.bucket):
        plain.client.make_bucket(plain.bucket)  # deliberately without object lock
    with pytest.raises(BucketWithoutObjectLock):
        plain.ensure_bucket(create=False)

    before = get_settings().s3_bucket
    override_settings(s3_bucket="no-lock-bucket")
    storage.reset_storage()
    try:
        with pytest.raises(BucketWithoutObjectLock), TestClient(create_app()):
            pytest.fail("the app started against a bucket without object lock")
    finally:
        override_settings(s3_bucket=before)
        storage.reset_storage()
