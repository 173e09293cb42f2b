"""The custody report as a PDF a court can read (fpdf2, DejaVu Sans embedded so Vietnamese diacritics render and
extract).

Vietnamese first, English beside. People, cameras and footage by name; times in the camera's local time, to the
second, with the zone's offset; the signed checkpoint and how a third party verifies it. Raw ids, object keys and
leaf hashes only in the technical appendix at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import TableCellFillMode, XPos, YPos
from fpdf.fonts import FontFace

from app.reports.names import (
    N_,
    UUID_PATTERN,
    local_moment,
    local_window,
    offset_words,
    reason_words,
    size_words,
    translate,
)

FONTS = Path(__file__).parent / "fonts"
FONT = "DejaVu"
GREY = (235, 237, 240)
INK = (20, 24, 31)
APPENDIX = N_("Technical appendix")

# Report labels (Vietnamese in the catalogue's vi entry, English in its en entry).
TITLE = N_("Custody report")
SUBTITLE = N_("Chain of custody of video evidence")
CASE_NUMBER = N_("Case number")
PAGE = N_("Page")
GENERATED = N_("Generated")
SUMMARY = N_("Case summary")
CASE_TITLE = N_("Title")
OFFENCE = N_("Offence")
UNIT = N_("Unit")
LEAD = N_("Lead investigator")
PLACE = N_("Incident place")
INCIDENT_TIME = N_("Incident time")
STATUS = N_("Status")
OUTCOME = N_("Outcome")
TIME_ZONE = N_("Time zone")
ZONE_NOTE = N_("All times are the camera's local time, to the second, with the offset from UTC.")
REQUESTS = N_("Extraction requests")
CAMERA = N_("Camera")
OWNER = N_("Owner")
REQUESTED_WINDOW = N_("Requested window")
PURPOSE = N_("Purpose and legal basis")
EVIDENCE = N_("Evidence items")
ITEM = N_("Item")
WINDOW = N_("Window")
SIZE = N_("Size")
ORIGINAL_KIND = N_("Original recording")
CLIP_KIND = N_("Clip")
TIMELINE = N_("Custody timeline")
MARKERS = N_("Markers on the case timeline (true time)")
NOTE = N_("Note")
TIME = N_("Time")
BY = N_("By")
ACTION = N_("Action and item")
REASON = N_("Reason and details")
CHECKPOINT = N_("Signed checkpoint")
TREE_SIZE = N_("Tree size (events in the log)")
ROOT_HASH = N_("Merkle root (SHA-256)")
KEY_FINGERPRINT = N_("Key fingerprint (SHA-256 of the Ed25519 public key)")
SIGNATURE = N_("Signature (Ed25519)")
SIGNED_AT = N_("Signed at")
AS_SIGNED = N_("UTC, exactly as signed")
COVERS = N_("This checkpoint covers custody events 1 to %(size)s; the events of this case above are among them.")
VERIFY_HEADING = N_("How a third party verifies this report")
VERIFY_TEXT = N_(
    "Ask for the case's verification bundle (custody report in the bundle format, a .zip file). It holds the "
    "custody events, an inclusion proof for each, the signed checkpoint, the public key and verify_bundle.py. On any "
    "computer with Python 3.11 or later and the cryptography package, and nothing of this service, run: python "
    "verify_bundle.py custody-bundle.zip. The script checks the checkpoint's Ed25519 signature and key fingerprint, "
    "recomputes every event's leaf hash from its fields (RFC 6962), checks each event's path to the signed Merkle "
    "root, and checks the SHA-256 of the report files the export recorded. It prints VERIFIED only when everything "
    "matches; one changed byte makes it fail. Compare the key fingerprint above with the one the service publishes."
)
NOTHING = N_("None recorded.")
YES = N_("yes")
NO = N_("no")

# Details worth a reader's eye, by key: how each is labelled and shown. Other keys (ids, object keys, commands,
# transition numbers) are internal and left to the appendix or the JSON report.
DETAIL_LABELS: dict[str, tuple[str, str]] = {
    "window_start": (N_("window start"), "time"),
    "window_end": (N_("window end"), "time"),
    "approved_start": (N_("approved from"), "time"),
    "approved_end": (N_("approved until"), "time"),
    "legal_basis": (N_("legal basis"), "text"),
    "expires_at": (N_("valid until"), "time"),
    "filename": (N_("file name"), "text"),
    "size": (N_("size"), "size"),
    "bytes": (N_("size"), "size"),
    "duration_s": (N_("duration (s)"), "text"),
    "video_codec": (N_("video codec"), "text"),
    "frame_rate": (N_("frame rate"), "text"),
    "clock_offset_s": (N_("recorder clock offset (s)"), "text"),
    "recording_start_recorder": (N_("first frame, recorder clock"), "time"),
    "retention_mode": (N_("object lock"), "text"),
    "retain_until": (N_("locked until"), "time"),
    "legal_hold": (N_("legal hold"), "bool"),
    "requested": (N_("requested"), "window"),
    "actual": (N_("cut at"), "window"),
    "covered": (N_("footage covers"), "window"),
    "tool": (N_("tool"), "text"),
    "tool_version": (N_("tool version"), "text"),
    "format": (N_("format"), "text"),
    "sha256": (N_("SHA-256"), "hash"),
    "offence": (N_("offence"), "text"),
    "incident_start": (N_("incident start"), "time"),
    "incident_end": (N_("incident end"), "time"),
    "outcome": (N_("outcome"), "text"),
    "footage_contributed": (N_("footage contributed"), "bool"),
    "overwrite_deadline": (N_("overwrite deadline"), "time"),
}


def both(message: str) -> str:
    """ "Vietnamese / English" of a catalogue message (one of them when they read the same)."""
    vi, en = translate("vi", message), translate("en", message)
    return vi if vi == en else f"{vi} / {en}"


def _origin_words(item: dict[str, Any]) -> str:
    """The camera of a file, or the appeal it was contributed through and by whom (Vietnamese / English)."""
    appeal = item.get("appeal")
    if appeal and appeal.get("words_vi"):
        vi, en = appeal["words_vi"], appeal["words_en"]
        return vi if vi == en else f"{vi} / {en}"
    return str(item.get("camera_name") or "—")


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _hash_lines(value: str | None, per_line: int = 2) -> str:
    """A hex digest in groups of 8, `per_line` groups a line: narrow columns hold it, and it reads aloud."""
    if not value:
        return "—"
    groups = [value[i : i + 8] for i in range(0, len(value), 8)]
    return "\n".join(" ".join(groups[i : i + per_line]) for i in range(0, len(groups), per_line))


def detail_lines(details: dict[str, Any], zone: str) -> list[str]:
    """An event's details as "label: value" lines in words, internal keys left out."""
    lines = []
    for key, value in details.items():
        if key not in DETAIL_LABELS or value is None or value == "":
            continue
        label, kind = DETAIL_LABELS[key]
        if kind == "time":
            shown = local_moment(_when(value), zone)
        elif kind == "window" and isinstance(value, list) and len(value) == 2:
            shown = local_window(_when(value[0]), _when(value[1]), zone)
        elif kind == "size" and isinstance(value, int):
            shown = size_words(value)
        elif kind == "bool":
            shown = both(YES if value else NO)
        elif kind == "hash":
            shown = "\n" + _hash_lines(str(value), 4)
        elif isinstance(value, dict | list):
            continue
        else:
            shown = translate("vi", str(value))
        lines.append(f"{both(label)}: {shown}")
    return lines


def label_value_rows(
    pdf: FPDF, rows: Sequence[tuple[str, str]], *, label_width: float, size: float, line_height: float
) -> None:
    """Label | value rows between thin lines, the label bold, an empty value as a dash (reports and receipts)."""
    pdf.set_font(FONT, "", size)
    with pdf.table(
        col_widths=(label_width, pdf.epw - label_width),
        first_row_as_headings=False,
        line_height=line_height,
        padding=1.2,
        borders_layout="HORIZONTAL_LINES",
        text_align="LEFT",
    ) as table:
        for label, value in rows:
            row = table.row()
            row.cell(label, style=FontFace(emphasis="BOLD"))
            row.cell(value or "—")


class _Report(FPDF):
    def __init__(self, number: str, generated: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.number = number
        self.generated = generated
        self.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_margins(14, 22, 14)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_text_color(*INK)
        self.set_title(f"{translate('vi', TITLE)} — {number}")
        self.set_creator("footage-tracker")

    def header(self) -> None:
        self.set_y(9)
        self.set_font(FONT, "", 7.5)
        self.set_text_color(90, 96, 105)
        self.cell(self.epw / 2, 5, both(TITLE), align="L")
        self.cell(self.epw / 2, 5, f"{both(CASE_NUMBER)}: {self.number}", align="R")
        self.set_draw_color(180, 185, 192)
        self.line(self.l_margin, 15, self.w - self.r_margin, 15)
        self.set_text_color(*INK)
        self.set_y(self.t_margin)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_draw_color(180, 185, 192)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_font(FONT, "", 7.5)
        self.set_text_color(90, 96, 105)
        self.cell(self.epw / 2, 6, f"{both(GENERATED)}: {self.generated}", align="L")
        self.cell(self.epw / 2, 6, f"{both(PAGE)} {self.page_no()}/{{nb}}", align="R")
        self.set_text_color(*INK)

    # -- building blocks -------------------------------------------------------------------------------
    def heading(self, text: str) -> None:
        if self.get_y() > self.h - 50:  # a heading never sits alone at a page's foot
            self.add_page()
        self.ln(3)
        self.set_font(FONT, "B", 11)
        self.multi_cell(0, 6, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)
        self.set_font(FONT, "", 8)

    def paragraph(self, text: str, size: float = 8) -> None:
        self.set_font(FONT, "", size)
        self.multi_cell(0, size * 0.5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def pairs(self, rows: Sequence[tuple[str, str]], label_width: float = 58) -> None:
        """Label | value rows (labels bilingual)."""
        label_value_rows(self, rows, label_width=label_width, size=8, line_height=4.2)

    def grid(
        self, headings: Sequence[str], widths: Sequence[float], rows: Sequence[Sequence[str]], size: float = 7.5
    ) -> None:
        """A table with a heading row repeated on each page it spans."""
        self.set_font(FONT, "", size)
        with self.table(
            col_widths=tuple(widths),
            line_height=size * 0.48,
            padding=1.1,
            headings_style=FontFace(emphasis="BOLD", fill_color=GREY),
            cell_fill_color=(248, 249, 250),
            cell_fill_mode=TableCellFillMode.EVEN_ROWS,
            borders_layout="SINGLE_TOP_LINE",
            text_align="LEFT",
            repeat_headings=1,
        ) as table:
            table.row(list(headings))
            for cells in rows:
                table.row([c or "—" for c in cells])


def render_pdf(report: dict[str, Any]) -> bytes:
    """The report's PDF: summary, requests, evidence, timeline, checkpoint and how to verify it, appendix."""
    case = report["case"]
    zone = str(report.get("timezone") or "Asia/Ho_Chi_Minh")
    generated = local_moment(_when(report["generated_at"]), zone)
    pdf = _Report(case["number"], generated)
    pdf.alias_nb_pages()
    pdf.add_page()

    pdf.set_font(FONT, "B", 16)
    pdf.multi_cell(0, 8, translate("vi", TITLE).upper(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 10)
    pdf.multi_cell(0, 5, f"{translate('en', TITLE)} — {both(SUBTITLE)}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    pdf.set_font(FONT, "B", 12)
    pdf.multi_cell(0, 6, f"{case['number']} — {case['title']}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)

    requests = {r["id"]: r for r in report["requests"]}
    pdf.heading(f"1. {both(SUMMARY)}")
    summary = [
        (both(CASE_NUMBER), case["number"]),
        (both(CASE_TITLE), case["title"]),
        (both(OFFENCE), both(case["offence"])),
        (both(UNIT), case.get("unit_name") or "—"),
        (both(LEAD), case.get("lead_investigator_name") or "—"),
        (both(PLACE), f"{case['incident_lat']:.6f}, {case['incident_lon']:.6f} (WGS84)"),
        (both(INCIDENT_TIME), local_window(_when(case["incident_start"]), _when(case["incident_end"]), zone)),
        (both(STATUS), both(case["status"])),
    ]
    if case.get("outcome"):
        summary.append((both(OUTCOME), str(case["outcome"])))
    offset = offset_words(_when(case["incident_start"]) or datetime.now().astimezone(), zone)
    summary.append((both(TIME_ZONE), f"{zone} (UTC{offset})"))
    pdf.pairs(summary)
    pdf.paragraph(f"{translate('vi', ZONE_NOTE)} / {translate('en', ZONE_NOTE)}", size=7)

    pdf.heading(f"2. {both(REQUESTS)} ({len(report['requests'])})")
    if report["requests"]:
        pdf.grid(
            (both(CAMERA), both(OWNER), both(REQUESTED_WINDOW), both(STATUS), both(PURPOSE)),
            (48, 30, 38, 26, 40),
            [
                (
                    " · ".join(p for p in (r.get("camera_label"), r.get("camera_address")) if p),
                    r.get("owner_name") or "—",
                    local_window(_when(r["window_start"]), _when(r["window_end"]), r["camera_timezone"]),
                    both(r["status"]),
                    f"{r['purpose']}\n{r['legal_basis']}",
                )
                for r in report["requests"]
            ],
        )
    else:
        pdf.paragraph(both(NOTHING))

    pdf.heading(f"3. {both(EVIDENCE)} ({len(report['originals']) + len(report['clips'])})")
    evidence = []
    for o in report["originals"]:
        request = requests.get(o["request_id"], {})
        tz = request.get("camera_timezone", zone)
        evidence.append(
            (
                f"{both(ORIGINAL_KIND)}\n{o['filename']}",
                _origin_words(o),
                local_window(_when(o.get("recorded_start")), _when(o.get("recorded_end")), tz),
                _hash_lines(o["sha256"]),
                size_words(o["size"]),
            )
        )
    for c in report["clips"]:
        request = requests.get(c["request_id"], {})
        tz = request.get("camera_timezone", zone)
        evidence.append(
            (
                f"{both(CLIP_KIND)}\n{c.get('name') or ''}",
                _origin_words(c),
                local_window(_when(c["actual_start"]), _when(c["actual_end"]), tz),
                _hash_lines(c["sha256"]),
                size_words(c["size"]),
            )
        )
    if evidence:
        pdf.grid((both(ITEM), both(CAMERA), both(WINDOW), "SHA-256", both(SIZE)), (40, 42, 38, 32, 30), evidence)
    else:
        pdf.paragraph(both(NOTHING))
    if report.get("markers"):
        pdf.paragraph(f"{both(MARKERS)} ({len(report['markers'])})")
        pdf.grid(
            (both(TIME), both(CAMERA), both(NOTE), both(BY)),
            (40, 42, 60, 40),
            [
                (m["at_local"], m.get("camera_name") or "—", m["note"], m.get("created_by_name") or "")
                for m in report["markers"]
            ],
        )

    pdf.heading(f"4. {both(TIMELINE)} ({len(report['events'])})")
    timeline = []
    for e in report["events"]:
        details = e.get("details") if isinstance(e.get("details"), dict) else {}
        reason = reason_words(e.get("reason"))
        lines = ([reason] if reason else []) + detail_lines(details, zone)
        action = both(e["action"])
        item = e.get("object_name") or ""
        timeline.append(
            (
                str(e["seq"]),
                local_moment(_when(e["at"]), zone),
                e.get("actor_name") or "—",
                f"{action}\n{item}" if item else action,
                "\n".join(lines),
            )
        )
    pdf.grid(("#", both(TIME), both(BY), both(ACTION), both(REASON)), (9, 25, 42, 50, 56), timeline, size=7)

    checkpoint = report.get("checkpoint")
    pdf.heading(f"5. {both(CHECKPOINT)}")
    if checkpoint:
        pdf.pairs(
            [
                (both(TREE_SIZE), str(checkpoint["tree_size"])),
                (both(ROOT_HASH), _hash_lines(checkpoint["root_hash"], 4)),
                (both(KEY_FINGERPRINT), _hash_lines(checkpoint["key_id"], 4)),
                (both(SIGNATURE), _hash_lines(checkpoint["signature"], 8)),
                (
                    both(SIGNED_AT),
                    f"{local_moment(_when(checkpoint['issued_at']), zone)}\n"
                    f"{checkpoint['issued_at']} ({both(AS_SIGNED)})",
                ),
            ],
            label_width=62,
        )
        pdf.paragraph(
            f"{translate('vi', COVERS) % {'size': checkpoint['tree_size']}}\n"
            f"{translate('en', COVERS) % {'size': checkpoint['tree_size']}}",
            size=7.5,
        )
    pdf.heading(f"6. {both(VERIFY_HEADING)}")
    pdf.paragraph(translate("vi", VERIFY_TEXT), size=8)
    pdf.paragraph(translate("en", VERIFY_TEXT), size=7.5)

    _appendix(pdf, report)
    return bytes(pdf.output())


def _appendix(pdf: _Report, report: dict[str, Any]) -> None:
    """Raw ids, object keys and versions, leaf hashes: what a technical expert cross-checks with the log."""
    pdf.add_page()
    pdf.heading(f"{both(APPENDIX)}")
    case = report["case"]
    pdf.pairs(
        [
            ("case_id", case["id"]),
            ("unit_id", case["unit_id"]),
            ("lead_investigator_id", str(case.get("lead_investigator_id") or "—")),
        ],
        label_width=40,
    )
    pdf.ln(2)
    rows: list[tuple[str, str]] = []
    for r in report["requests"]:
        rows.append((f"request {r['id']}", f"camera_id {r['camera_id']}\nowner_id {r['owner_id']}"))
    for o in report["originals"]:
        rows.append(
            (f"original {o['id']}", f"object_key {o['object_key']}\nversion_id {o['version_id']}\n{o['uploaded_by']}")
        )
    for c in report["clips"]:
        rows.append(
            (
                f"clip {c['id']}",
                f"original_id {c['original_id']}\nparent_sha256 {c['parent_sha256']}\nversion_id {c['version_id']}\n"
                f"{c['tool']} {c['tool_version']}: {' '.join(c['command'])}",
            )
        )
    if rows:
        pdf.grid(("object", "ids"), (62, pdf.epw - 62), rows, size=6.5)
    pdf.ln(2)
    pdf.grid(
        ("seq", "at (UTC)", "actor · object", "leaf_hash"),
        (10, 40, 80, pdf.epw - 130),
        [
            (
                str(e["seq"]),
                e["at"],
                f"{e['actor']}\n{e['object_type'] or ''} {e['object_id'] or ''}".rstrip()
                + (f"\n{e['reason']}" if UUID_PATTERN.search(e.get("reason") or "") else ""),
                _hash_lines(e["leaf_hash"], 4),
            )
            for e in report["events"]
        ],
        size=6.5,
    )
