"""The account page's resumable uploads (/owner/uploads) through the real app, PostgreSQL, S3 server and ffmpeg:
tus behind the session cookie and the CSRF header, files of an export in several, "complete", and refusals (no
CSRF token, another owner's account, a link token in the metadata) that store nothing."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.db import session_factory
from app.footage.models import Original
from app.footage.uploads import UPLOAD_PART_SIZE
from app.reports.names import size_words
from tests.factories import Account
from tests.footage.test_footage import approved_request
from tests.footage.test_tus import metadata, pending_parts, upload_rows
from tests.web.test_owner_export_files import segment
from tests.web.test_owner_pages import _sign_in

TUS = {"Tus-Resumable": "1.0.0"}


def _page_csrf(client: TestClient, request_id: str) -> str:
    page = client.get(f"/owner/requests/{request_id}")
    assert page.status_code == 200, page.text
    assert 'data-tus="/owner/uploads"' in page.text and f'data-request="{request_id}"' in page.text
    assert f'data-complete="/owner/requests/{request_id}/originals/complete"' in page.text
    found = re.search(r'data-csrf="([^"]+)"', page.text)
    assert found
    return found.group(1)


def _create(client: TestClient, size: int, csrf: str | None, **meta: str) -> httpx.Response:
    headers = {**TUS, "Upload-Length": str(size), "Upload-Metadata": metadata(**meta)}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return client.post("/owner/uploads", headers=headers)


def _patch(client: TestClient, url: str, at: int, data: bytes, csrf: str | None) -> httpx.Response:
    headers = {**TUS, "Upload-Offset": str(at), "Content-Type": "application/offset+octet-stream"}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return client.patch(url, content=data, headers=headers)


def _signed_in(client: TestClient, owner: Account) -> None:
    _sign_in(client, owner.email)


def test_two_files_by_tus_on_the_account_page_then_complete(client: TestClient, tmp_path: Path) -> None:
    investigator, owner, request_id, t0 = approved_request(client)
    first = segment(tmp_path, t0 + timedelta(seconds=4), 6)
    second = segment(tmp_path, t0 + timedelta(seconds=10), 16, bitrate="8M")
    assert second.stat().st_size > UPLOAD_PART_SIZE
    _signed_in(client, owner)
    csrf = _page_csrf(client, request_id)
    originals = {}
    for path in (first, second):
        data = path.read_bytes()
        made = _create(client, len(data), csrf, request_id=request_id, filename=path.name, export_part="true")
        assert made.status_code == 201, made.text
        url = made.headers["Location"]
        assert re.fullmatch(r"/owner/uploads/[0-9a-f-]{36}", url), url
        # a piece, then the offset as a resuming client asks for it, then the rest
        piece = min(len(data) - 1, UPLOAD_PART_SIZE + 1)
        assert _patch(client, url, 0, data[:piece], csrf).status_code == 204
        offset = client.head(url, headers={**TUS, "X-CSRF-Token": csrf})
        assert offset.status_code == 200 and offset.headers["Upload-Offset"] == str(piece)
        assert client.head(url, headers=TUS).status_code == 403  # the offset too needs the CSRF header
        done = _patch(client, url, piece, data[piece:], csrf)
        assert done.status_code == 204, done.text
        assert done.headers["Upload-Original-SHA256"] == hashlib.sha256(data).hexdigest()
        originals[path.name] = done.headers["Upload-Original-SHA256"]
    page = client.get(f"/owner/requests/{request_id}").text
    assert page.count('data-server="done"') == 2  # the files received, before "All files sent"

    assert client.post(f"/owner/requests/{request_id}/originals/complete").status_code == 403
    completed = client.post(f"/owner/requests/{request_id}/originals/complete", headers={"X-CSRF-Token": csrf})
    assert completed.status_code == 200, completed.text
    body = completed.json()
    assert {o["filename"]: o["sha256"] for o in body["originals"]} == originals
    assert len(body["export"]["files"]) == 2
    again = client.post(f"/owner/requests/{request_id}/originals/complete", headers={"X-CSRF-Token": csrf})
    assert again.status_code == 200  # idempotent
    page = client.get(f"/owner/requests/{request_id}").text
    assert 'id="export-order"' in page and first.name in page and second.name in page
    # sizes in words with the exact count, as on the link page (the test client's pages are in Vietnamese)
    assert size_words(second.stat().st_size, "vi") in page and "MiB (" in page
    detail = client.get(f"/api/v1/requests/{request_id}", headers=investigator.headers).json()
    assert detail["status"] != "approved" and {o["sha256"] for o in detail["originals"]} == set(originals.values())


def test_without_the_csrf_token_or_as_another_owner_nothing_is_stored(client: TestClient, tmp_path: Path) -> None:
    _, owner, request_id, t0 = approved_request(client)
    data = segment(tmp_path, t0 + timedelta(seconds=4), 4).read_bytes()
    meta = {"request_id": request_id, "filename": "ch01_a.mp4", "export_part": "true"}
    _signed_in(client, owner)
    csrf = _page_csrf(client, request_id)
    assert _create(client, len(data), None, **meta).status_code == 403
    assert _create(client, len(data), "forged", **meta).status_code == 403
    assert upload_rows(request_id) == 0 and pending_parts(request_id) == []
    # an owner link's token is not taken here: the account's upload names its request
    linked = _create(client, len(data), csrf, token="x" * 43, filename="ch01_a.mp4")
    assert linked.status_code == 422, linked.text
    url = _create(client, len(data), csrf, **meta).headers["Location"]
    refused = _patch(client, url, 0, data, None)
    assert refused.status_code == 403
    assert client.head(url, headers={**TUS, "X-CSRF-Token": csrf}).headers["Upload-Offset"] == "0"
    assert client.delete(url, headers=TUS).status_code == 403
    assert client.delete(url, headers={**TUS, "X-CSRF-Token": csrf}).status_code == 204
    assert upload_rows(request_id) == 0 and pending_parts(request_id) == []

    # another owner's account: no upload for this request, and not another's upload either
    theirs = _create(client, len(data), csrf, **meta).headers["Location"]
    _, other, _, _ = approved_request(client)
    _signed_in(client, other)
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/owner/requests").text)
    assert found
    token = found.group(1)
    assert _create(client, len(data), token, **meta).status_code == 404
    assert _patch(client, theirs, 0, data, token).status_code == 404
    complete = client.post(f"/owner/requests/{request_id}/originals/complete", headers={"X-CSRF-Token": token})
    assert complete.status_code == 404
    assert upload_rows(request_id) == 1  # the first owner's own, untouched
    assert _originals(request_id) == 0


def _originals(request_id: str) -> int:
    with session_factory()() as session:
        query = select(func.count()).select_from(Original).where(Original.request_id == uuid.UUID(request_id))
        return int(session.scalar(query) or 0)


def test_the_history_words_the_systems_reasons_for_the_owner() -> None:
    from app.web.owner_requests import history_reason

    joined = "clip cut by stream copy across 2 files, joined by the concat demuxer"
    assert history_reason("export complete: 2 files, 1 gap(s) between them", "vi") == "đã giao đủ 2 tệp ghi hình"
    assert history_reason(joined, "en") == "clip cut by stream copy (not re-encoded)"
    assert "stream copy" not in history_reason(joined, "vi")
    assert "consent" not in history_reason(f"auto_approve consent {uuid.uuid4()}", "vi")
    assert history_reason("Không muốn cung cấp", "vi") == "Không muốn cung cấp"
