"""Every string the pages and emails mark for translation has a Vietnamese translation (the default locale),
and the catalogues hold one entry per message, as `make i18n` writes them."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = ROOT / "app" / "web" / "i18n"


def _marked_in_source() -> set[str]:
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2"), ("**/templates/**.txt", "jinja2")]
    keywords = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
    found: set[str] = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT / "app"), method_map, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_marked_string_has_a_vietnamese_translation() -> None:
    with (CATALOGUES / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        vietnamese = {m.id: m.string for m in read_po(handle) if m.id}
    marked = _marked_in_source()
    assert len(marked) > 200
    missing = sorted(m for m in marked if not vietnamese.get(m))
    assert not missing, f"run `make i18n` and translate: {missing[:10]}"


def test_catalogues_hold_one_entry_per_message() -> None:
    for catalogue in (*CATALOGUES.glob("*/LC_MESSAGES/messages.po"), CATALOGUES / "messages.pot"):
        text = catalogue.read_text(encoding="utf-8")
        with catalogue.open("rb") as handle:
            entries = len([m for m in read_po(handle) if m.id])
        assert text.count("\nmsgid ") == entries + 1, f"{catalogue} repeats an entry"  # + the header
