"""The disclosure receipt: a PDF (fpdf2, DejaVu Sans embedded, Vietnamese first, English beside) listing every item
of a package with its SHA-256, size, the custody event recording it and the first signed checkpoint covering that
event (a redacted copy also with its parent clip's hash and its redaction's record), with room for the recipient's
acknowledgement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fpdf import FPDF
from fpdf.enums import TableCellFillMode, XPos, YPos
from fpdf.fonts import FontFace

from app.reports.names import N_, local_moment, size_words, translate
from app.reports.pdf import FONT, FONTS, GREY, INK, both, label_value_rows

TITLE = N_("Disclosure receipt")
SUBTITLE = N_("Video evidence handed to the procuracy or court")
CASE = N_("Case")
RECIPIENT = N_("Recipient")
ISSUED = N_("Issued")
RECEIPT_NUMBER = N_("Receipt number")
ITEMS = N_("Items of the package")
FILE = N_("File")
SIZE = N_("Size")
CUSTODY_EVENT = N_("Custody event")
CHECKPOINT = N_("Checkpoint")
CHECKPOINT_HEADING = N_("Signed checkpoint covering the items")
TREE_SIZE = N_("Log size")
ROOT_HASH = N_("Root hash")
KEY_ID = N_("Key id")
HOW_TO_CHECK = N_(
    "Check each file: its SHA-256 must equal the one listed. Check the custody bundle with the verify_bundle.py it "
    "contains; the checkpoint above is the one the bundle's proofs are made against."
)
ACKNOWLEDGEMENT = N_("Acknowledgement of receipt")
ACK_TEXT = N_("I received the files listed above, whole and with the SHA-256 values listed.")
SIGNATURE = N_("Name, signature and date")
KINDS = {"clip": N_("Video clip"), "bundle": N_("Custody bundle"), "redacted_copy": N_("Redacted copy of a clip")}
PARENT_CLIP = N_("Parent clip")
MASK_FILE = N_("Mask file")
REDACTION_RECORD = N_("Redaction")
STYLES = {"blur": N_("Blurred boxes"), "box": N_("Solid black boxes")}
CHECKPOINTS_HEADING = N_("Signed checkpoints covering the items")
HOW_TO_CHECK_FILES = N_(
    "Check each file: its SHA-256 must equal the one listed. Check the custody bundle with the verify_bundle.py it "
    "contains."
)
CHECKPOINTS_NOTE = N_(
    "Each item names the first signed checkpoint whose log holds its custody event. The custody bundle's proofs are "
    "made against the last one, which extends every earlier one."
)


class _Receipt(FPDF):
    def __init__(self, number: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_margins(14, 16, 14)
        self.set_auto_page_break(auto=True, margin=16)
        self.set_text_color(*INK)
        self.set_title(f"{translate('vi', TITLE)} — {number}")
        self.set_creator("footage-tracker")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 7.5)
        self.cell(0, 6, f"{both(TITLE)} — {self.page_no()}/{{nb}}", align="R")

    def heading(self, text: str) -> None:
        self.ln(3)
        self.set_font(FONT, "B", 11)
        self.multi_cell(0, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def pairs(self, rows: list[tuple[str, str]]) -> None:
        label_value_rows(self, rows, label_width=52, size=8.5, line_height=4.4)


def render_receipt(
    *,
    report: dict[str, Any],
    disclosure_id: str,
    recipient: str,
    created_at: datetime,
    items: list[dict[str, Any]],
    checkpoint: dict[str, Any],
    covering: list[dict[str, Any]] | None = None,
) -> bytes:
    """The receipt's PDF bytes (times in the case's cameras' zone, to the second, with the offset)."""
    case = report["case"]
    zone = str(report.get("timezone") or "Asia/Ho_Chi_Minh")
    pdf = _Receipt(case["number"])
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font(FONT, "B", 16)
    pdf.multi_cell(0, 8, translate("vi", TITLE).upper(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 10)
    pdf.multi_cell(0, 5, f"{translate('en', TITLE)} — {both(SUBTITLE)}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.pairs(
        [
            (both(CASE), f"{case['number']} — {case['title']}"),
            (both(RECIPIENT), recipient),
            (both(ISSUED), local_moment(created_at, zone)),
            (both(RECEIPT_NUMBER), disclosure_id),
        ]
    )
    pdf.heading(both(ITEMS))
    pdf.set_font(FONT, "", 7)
    with pdf.table(
        col_widths=(8, 50, 80, 24, 20),
        line_height=3.6,
        padding=1.0,
        headings_style=FontFace(emphasis="BOLD", fill_color=GREY),
        cell_fill_color=(248, 249, 250),
        cell_fill_mode=TableCellFillMode.EVEN_ROWS,
        borders_layout="SINGLE_TOP_LINE",
        text_align="LEFT",
        repeat_headings=1,
    ) as table:
        table.row(["#", both(FILE), "SHA-256", both(SIZE), f"{both(CUSTODY_EVENT)} / {both(CHECKPOINT)}"])
        for number, item in enumerate(items, start=1):
            label = both(KINDS[item["kind"]])
            title = f"\n{item['title']}" if item.get("title") else ""
            seq = item.get("custody_seq")
            covered = item.get("checkpoint_tree_size")
            hashes = f"{item['sha256'][:32]}\n{item['sha256'][32:]}"
            events = f"#{seq if seq is not None else '—'} / {covered if covered is not None else '—'}"
            parent, record = item.get("parent"), item.get("redaction")
            if parent and record:
                # the copy's own hash, then its parent clip's and the mask file's, each named
                hashes += f"\n{both(PARENT_CLIP)}:\n{parent['sha256'][:32]}\n{parent['sha256'][32:]}"
                mask = str(record.get("mask_sha256") or "")
                hashes += f"\n{both(MASK_FILE)}:\n{mask[:32]}\n{mask[32:]}"
                style = both(STYLES.get(record.get("style", ""), record.get("style", "")))
                title += f"\n{both(REDACTION_RECORD)}: {style}; {record.get('tool', '')}; {record.get('detector', '')}"
                title += f"\n{record['id'][:24]}\n{record['id'][24:]}"  # a 36-character id, cut where it fits
                parent_seq = parent.get("custody_seq")
                events += f"\n{both(PARENT_CLIP)}: #{parent_seq if parent_seq is not None else '—'}"
            table.row([str(number), f"{item['name']}\n{label}{title}", hashes, size_words(int(item["size"])), events])
    listed = covering or [checkpoint]
    if len(listed) > 1:
        pdf.heading(both(CHECKPOINTS_HEADING))
        pdf.set_font(FONT, "", 8)
        pdf.multi_cell(0, 4.2, f"{translate('vi', CHECKPOINTS_NOTE)}\n{translate('en', CHECKPOINTS_NOTE)}")
        pdf.ln(1)
    else:
        pdf.heading(both(CHECKPOINT_HEADING))
    for index, signed in enumerate(listed):
        if index:
            pdf.ln(3)
        root = str(signed.get("root_hash", ""))
        pdf.pairs(
            [
                (both(TREE_SIZE), str(signed.get("tree_size", ""))),
                (both(ROOT_HASH), f"{root[:32]}\n{root[32:]}"),
                (both(ISSUED), local_moment(datetime.fromisoformat(str(signed["issued_at"])), zone)),
                (both(KEY_ID), str(signed.get("key_id", ""))),
            ]
        )
    pdf.ln(2)
    pdf.set_font(FONT, "", 8)
    how = HOW_TO_CHECK if len(listed) == 1 else HOW_TO_CHECK_FILES  # the note above says which checkpoint is whose
    pdf.multi_cell(0, 4.2, f"{translate('vi', how)}\n{translate('en', how)}")
    pdf.heading(both(ACKNOWLEDGEMENT))
    pdf.set_font(FONT, "", 8.5)
    pdf.multi_cell(0, 4.4, f"{translate('vi', ACK_TEXT)}\n{translate('en', ACK_TEXT)}")
    pdf.ln(10)
    pdf.cell(0, 5, f"{both(SIGNATURE)}: ____________________________________________")
    return bytes(pdf.output())
