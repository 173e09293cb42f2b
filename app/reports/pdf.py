"""The custody report as PDF (fpdf2, DejaVu Sans embedded so Vietnamese diacritics render and extract)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

FONTS = Path(__file__).parent / "fonts"


class _Report(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.report_title = title
        self.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(12, 12, 12)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 7)
        self.cell(0, 5, f"{self.report_title} — {self.page_no()}/{{nb}}", align="C")


def _heading(pdf: _Report, text: str) -> None:
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 8)


def _line(pdf: _Report, text: str) -> None:
    pdf.multi_cell(0, 4, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_pdf(report: dict[str, Any]) -> bytes:
    case = report["case"]
    pdf = _Report(f"Báo cáo chuỗi lưu giữ / Custody report — {case['number']}")
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 14)
    _line(pdf, f"Báo cáo chuỗi lưu giữ chứng cứ — Custody report\nVụ việc / Case {case['number']}: {case['title']}")
    pdf.set_font("DejaVu", "", 8)
    _line(pdf, f"Lập lúc / generated at {report['generated_at']} (UTC)")
    _heading(pdf, "Vụ việc / Case")
    for key in (
        "offence",
        "status",
        "outcome",
        "footage_contributed",
        "incident_start",
        "incident_end",
        "incident_lat",
        "incident_lon",
        "id",
    ):
        _line(pdf, f"{key}: {case[key]}")
    _heading(pdf, f"Yêu cầu trích xuất / Requests ({len(report['requests'])})")
    for r in report["requests"]:
        _line(
            pdf,
            f"{r['id']} — camera {r['camera_id']} — {r['status']}\n  window {r['window_start']} → "
            f"{r['window_end']}; approved {r['approved_start']} → {r['approved_end']}; deadline "
            f"{r['overwrite_deadline']}\n  purpose: {r['purpose']}; legal basis: {r['legal_basis']}",
        )
        for t in r["history"]:
            _line(
                pdf,
                f"    {t['at']}  {t['from']} → {t['to']}  by {t['actor']}  ({t['reason'] or ''}) #{t['custody_seq']}",
            )
    _heading(pdf, f"Bản gốc / Originals ({len(report['originals'])})")
    for o in report["originals"]:
        _line(
            pdf,
            f"{o['id']} {o['filename']} — {o['size']} bytes\n  SHA-256 {o['sha256']}\n  object "
            f"{o['object_key']} version {o['version_id']}\n  recorder start {o['recording_start_recorder']}, "
            f"clock offset {o['clock_offset_s']} s; uploaded by {o['uploaded_by']} at {o['received_at']}; "
            f"lock {o['retention_mode']} until {o['retain_until']}",
        )
    _heading(pdf, f"Đoạn trích / Clips ({len(report['clips'])})")
    for c in report["clips"]:
        _line(
            pdf,
            f"{c['id']} from original {c['original_id']} (parent SHA-256 {c['parent_sha256']})\n  SHA-256 "
            f"{c['sha256']} version {c['version_id']}\n  requested {c['requested_start']} → {c['requested_end']};"
            f" actual {c['actual_start']} → {c['actual_end']}\n  {c['tool']} {c['tool_version']}: "
            f"{' '.join(c['command'])}",
        )
    _heading(pdf, f"Sự kiện lưu giữ / Custody events ({len(report['events'])})")
    for e in report["events"]:
        _line(
            pdf,
            f"#{e['seq']} {e['at']} {e['action']} by {e['actor']} — {e['outcome']}"
            f"{' — ' + e['reason'] if e['reason'] else ''}\n  object {e['object_type']} {e['object_id']} "
            f"sha256 {e['sha256']} version {e['version_id']}\n  where {json.dumps(e['where'], ensure_ascii=False)}"
            f"; leaf {e['leaf_hash']}",
        )
    return bytes(pdf.output())
