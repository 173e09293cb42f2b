"""A consent receipt drawn as a Vietnamese PDF. Apart from `receipts` so that fpdf (which brings numpy, Pillow
and fontTools, some 50 MB) is loaded only when a PDF is asked for, not when the API starts."""

from __future__ import annotations

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from app.core import clock
from app.notifications.wording import HOME_ZONE, moment_text, zone_words
from app.registry.receipts import ConsentReceipt
from app.reports.pdf import FONT, FONTS, INK


class _Receipt(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_text_color(*INK)
        self.set_title("Biên nhận sự đồng ý")
        self.set_creator("footage-tracker")

    def row(self, label: str, value: str) -> None:
        self.set_font(FONT, "B", 10)
        self.multi_cell(55, 6, label, new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.set_font(FONT, "", 10)
        self.multi_cell(0, 6, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)


def render_receipt_pdf(made: ConsentReceipt, terms_text: str) -> bytes:
    """The receipt drawn as a Vietnamese PDF (DejaVu Sans embedded)."""
    consent = made.consent
    words = made.words("vi")
    zone = zone_words(HOME_ZONE, "vi")
    pdf = _Receipt()
    pdf.add_page()
    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 10, "BIÊN NHẬN SỰ ĐỒNG Ý", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 10)
    pdf.cell(0, 6, "Chương trình camera với an ninh trật tự", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.row("Chủ camera", made.owner.name)
    pdf.row("Nội dung", words["change_words"])
    pdf.row("Áp dụng cho", words["cameras_words"])
    pdf.row("Phạm vi", words["scope_words"])
    pdf.row("Hiệu lực", words["validity_words"])
    if consent.withdrawn_at is not None:
        pdf.row("Rút lại lúc", words["withdrawn_at"])
        pdf.row("Lý do rút lại", consent.withdrawn_reason or "")
    pdf.row("Điều khoản", f"Phiên bản {consent.terms_version}")
    pdf.row("Căn cứ", consent.legal_basis)
    pdf.row("Người ghi nhận", consent.given_by)
    pdf.row("Ghi lúc", words["recorded_at"])
    pdf.ln(2)
    pdf.set_font(FONT, "B", 11)
    pdf.cell(0, 7, "Điều khoản của chương trình", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 9.5)
    pdf.multi_cell(0, 5, terms_text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)
    pdf.set_font(FONT, "B", 11)
    pdf.cell(0, 7, "Kiểm tra biên nhận", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.row("Số trong sổ theo dõi", str(made.seq))
    pdf.set_font(FONT, "B", 10)
    pdf.cell(0, 6, "Mã băm (leaf hash)", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 9)
    pdf.multi_cell(0, 5, made.leaf_hash, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    pdf.set_font(FONT, "", 9.5)
    pdf.multi_cell(
        0,
        5,
        "Mỗi thay đổi về sự đồng ý được ghi vào sổ theo dõi không thể sửa xóa. Bất kỳ ai cũng có thể kiểm tra số "
        "và mã băm trên tại địa chỉ sau, hoặc kiểm tra ngoại tuyến bằng scripts/verify_bundle.py --receipt với "
        "biên nhận dạng JSON:",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_font(FONT, "", 8.5)
    pdf.multi_cell(0, 5, made.check_url, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    pdf.set_font(FONT, "", 8)
    pdf.cell(0, 5, f"In lúc {moment_text(clock.now(), HOME_ZONE, zone)}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
