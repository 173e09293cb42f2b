"""The custody report as a court reads it: the PDF read back with pdftotext and rendered with pdftoppm, the CSV and
JSON with names beside ids, and the bundle verified by the verifier it ships."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from app.core.config import PROJECT_ROOT
from app.reports.names import size_words
from app.reports.service import _cell
from tests.factories import case_with_request
from tests.reports import scenario
from tests.reports.scenario import CourtCase

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
APPENDIX = "Phụ lục kỹ thuật / Technical appendix"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture(scope="module")
def court(configured: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, CourtCase]]:
    from app.main import create_app

    with TestClient(create_app()) as client:
        yield client, scenario.build(client, tmp_path_factory.mktemp("court"))


@pytest.fixture(scope="module")
def pdf(court: tuple[TestClient, CourtCase], tmp_path_factory: pytest.TempPathFactory) -> Path:
    client, case = court
    response = client.get(f"/api/v1/cases/{case.case_id}/custody-report?format=pdf", headers=case.headers)
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    path.write_bytes(response.content)
    return path


def _text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_pdf_names_people_and_things_in_local_time(pdf: Path, court: tuple[TestClient, CourtCase]) -> None:
    client, case = court
    text = _text(pdf)
    main, appendix = text.split(APPENDIX, 1)
    words = " ".join(main.split())  # table cells wrap: compare word runs
    # names, not ids
    for name in (
        scenario.INVESTIGATOR_NAME,
        scenario.UNIT_NAME,
        scenario.OWNER_NAME,
        scenario.CAMERA_LABEL,
        scenario.CAMERA_ADDRESS,
        scenario.VIDEO_NAME,
        "Trần Văn Minh · điều tra viên · Công an phường Bến Nghé",
        "Nhà thuốc Hạnh Phúc · chủ camera, qua đường dẫn một lần",
        "Hệ thống · bộ cắt đoạn trích",
    ):
        assert name in words, name
    assert not UUID.findall(main), UUID.findall(main)[:3]
    assert "None" not in main and "{" not in main and "owner-link:" not in main and "user:" not in main
    # times in the camera's zone, to the second, with the offset — never UTC with microseconds
    start = case.window_start.astimezone(ZONE)
    assert f"{start:%H:%M:%S} {start:%d/%m/%Y} +07" in words
    assert f"{case.window_end.astimezone(ZONE):%H:%M:%S} +07" in words
    # (but the checkpoint's time also as the signature covers it)
    utc = re.findall(r"\d{2}:\d{2}:\d{2}\.\d{6}Z( \(UTC, đúng như đã ký)?", main)
    assert utc and all(utc), utc
    # bilingual labels and the case summary
    for label in (
        "Số vụ việc / Case number",
        "Điều tra viên thụ lý / Lead investigator",
        "Diễn biến lưu giữ / Custody timeline",
        "Asia/Ho_Chi_Minh (UTC+07)",
    ):
        assert label in words, label
    # the evidence: hash and size in human units and bytes
    report = client.get(f"/api/v1/cases/{case.case_id}/custody-report?format=json", headers=case.headers).json()
    original = report["originals"][0]
    assert original["sha256"] in _flat(main)
    assert size_words(original["size"]) in words
    # the signed checkpoint and how to verify it
    key = client.get("/api/v1/custody/public-key").json()
    assert "Điểm kiểm tra đã ký / Signed checkpoint" in words
    assert key["key_id"] in _flat(main)
    assert "Chữ ký (Ed25519) / Signature (Ed25519)" in words
    assert "python verify_bundle.py" in words
    # ids live in the appendix
    assert case.request_id in appendix and case.original_id in appendix and case.clip_id in appendix


def test_every_page_has_the_case_number_and_page_x_of_y(pdf: Path, court: tuple[TestClient, CourtCase]) -> None:
    _, case = court
    pages = [p for p in _text(pdf).split("\f") if p.strip()]
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert f"Số vụ việc / Case number: {case.number}" in page
        assert f"Trang / Page {number}/{len(pages)}" in page


def _words(path: Path) -> list[list[tuple[float, float, float, float]]]:
    """Each page's word boxes, as pdftotext lays them out."""
    xml = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    pages = []
    for page in xml.split("<page ")[1:]:
        boxes = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">', page)
        pages.append([tuple(float(v) for v in box) for box in boxes])
    return pages  # type: ignore[return-value]


def test_no_two_words_overlap_on_any_page(pdf: Path) -> None:
    pages = _words(pdf)
    assert pages and all(pages)
    for index, boxes in enumerate(pages, start=1):
        boxes.sort(key=lambda b: b[1])
        for i, (x0, y0, x1, y1) in enumerate(boxes):
            for a0, b0, a1, b1 in boxes[i + 1 :]:
                if b0 >= y1 - 0.5:
                    break
                overlap_x = min(x1, a1) - max(x0, a0)
                overlap_y = min(y1, b1) - max(y0, b0)
                assert overlap_x <= 0.5 or overlap_y <= 0.5, f"page {index}: words overlap at {x0:.0f},{y0:.0f}"


def test_pages_render_and_are_kept_as_screenshots(pdf: Path, tmp_path: Path) -> None:
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(tmp_path / "custody-report-p")], check=True)
    images = sorted(tmp_path.glob("custody-report-p-*.png"))
    assert len(images) >= 2 and all(i.stat().st_size > 10_000 for i in images)
    target = os.environ.get("SCREENSHOTS_DIR")  # `make screenshots` keeps them in docs/screenshots
    if target:
        for image in images[:3]:
            shutil.copy(image, Path(target) / image.name.replace("-p-", "-p"))


def test_json_and_csv_carry_names_beside_ids(court: tuple[TestClient, CourtCase]) -> None:
    client, case = court
    report = client.get(f"/api/v1/cases/{case.case_id}/custody-report?format=json", headers=case.headers).json()
    assert report["case"]["lead_investigator_name"].startswith(scenario.INVESTIGATOR_NAME)
    assert report["case"]["unit_name"] == scenario.UNIT_NAME
    request = report["requests"][0]
    assert request["camera_id"] == str(request["camera_id"]) and UUID.fullmatch(request["camera_id"])
    assert request["camera_name"] == f"{scenario.CAMERA_LABEL} · {scenario.CAMERA_ADDRESS} · {scenario.OWNER_NAME}"
    assert request["window_start_local"].endswith("+07")
    assert report["originals"][0]["name"] == f"{scenario.CAMERA_LABEL} — {scenario.VIDEO_NAME}"
    by_action = {e["action"]: e for e in report["events"]}
    assert by_action["clip.created"]["actor"] == "system:clipper"  # the log's own field, unchanged
    assert by_action["clip.created"]["actor_name"] == "Hệ thống · bộ cắt đoạn trích"
    assert by_action["request.approved"]["actor_name"].startswith(scenario.OWNER_NAME)
    assert report["checkpoint"]["tree_size"] >= max(e["seq"] for e in report["events"])

    content = client.get(f"/api/v1/cases/{case.case_id}/custody-report?format=csv", headers=case.headers).content
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    filed = next(r for r in rows if r["action"] == "request.filed")
    assert UUID.fullmatch(filed["actor"].removeprefix("user:"))
    assert filed["actor_name"] == "Trần Văn Minh · điều tra viên · Công an phường Bến Nghé"
    assert filed["action_label"] == "Yêu cầu được lập"
    assert scenario.CAMERA_LABEL in filed["object_name"]


def test_csv_cells_cannot_run_as_formulas(court: tuple[TestClient, CourtCase]) -> None:
    client = court[0]  # one app per module: two at once would share the async read pool across event loops
    investigator, case_id = case_with_request(client)
    request_id = client.get(f"/api/v1/requests?case_id={case_id}", headers=investigator.headers).json()["items"][0][
        "id"
    ]
    formula = '=HYPERLINK("http://evil.example","bấm")'
    cancelled = client.post(
        f"/api/v1/requests/{request_id}/cancel", json={"reason": formula}, headers=investigator.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    content = client.get(f"/api/v1/cases/{case_id}/custody-report?format=csv", headers=investigator.headers).content
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert next(r for r in rows if r["action"] == "request.cancelled")["reason"] == "'" + formula
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert _cell(f"{start}1+1") == f"'{start}1+1"
    assert _cell("Nhận dạng đối tượng") == "Nhận dạng đối tượng" and _cell(-3) == -3


def test_the_bundle_ships_its_verifier_and_its_readme_is_right(
    court: tuple[TestClient, CourtCase], tmp_path: Path
) -> None:
    client, case = court
    response = client.get(f"/api/v1/cases/{case.case_id}/custody-report?format=bundle", headers=case.headers)
    assert response.status_code == 200
    name = re.search(r'filename="([^"]+)"', response.headers["content-disposition"])
    assert name is not None
    bundle = tmp_path / name.group(1)
    bundle.write_bytes(response.content)
    folder = tmp_path / "unzipped"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(folder)
    shipped = folder / "verify_bundle.py"
    assert shipped.read_bytes() == (PROJECT_ROOT / "scripts" / "verify_bundle.py").read_bytes()
    readme = (folder / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^ {4}python (verify_bundle\.py) (\S+)", readme, flags=re.MULTILINE)
    assert commands and all(script == "verify_bundle.py" for script, _ in commands)
    assert {target for _, target in commands} == {bundle.name, "."}
    shutil.move(bundle, folder / bundle.name)  # as the README says: the zip beside the unzipped files
    for target in (bundle.name, "."):
        # a fresh interpreter in isolated mode, started in the unzipped folder: nothing of the service on its path
        run = subprocess.run(
            [sys.executable, "-I", "verify_bundle.py", target], cwd=folder, capture_output=True, text=True
        )
        assert run.returncode == 0 and run.stdout.rstrip().endswith("VERIFIED"), run.stdout + run.stderr
        assert "ok    verify_bundle.py: SHA-256 recorded" in run.stdout
    export = json.loads((folder / "events.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert "verify_bundle.py" in export["details"]["bundle_files"]
