"""The message catalogues: every string the console shows has its Indonesian words, and the
English catalogue knows the same messages. No browser needed."""

import ast
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from services.intake import domain
from services.intake.console import i18n
from services.intake.console.labels import PROBLEMS

CONSOLE = Path(i18n.__file__).parent
DOMAIN = Path(domain.__file__).parent
KEYWORDS = {"_": None, "gettext": None, "N_": None}
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def shown_messages() -> set[str]:
    found = extract_from_dir(
        str(CONSOLE), METHODS, keywords=KEYWORDS, options_map=OPTIONS, comment_tags=()
    )
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def catalogue(code: str) -> dict[str, str]:
    with (CONSOLE / "i18n" / code / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return {str(m.id): str(m.string) for m in read_po(po) if m.id}


def test_every_message_the_console_shows_has_its_indonesian_words() -> None:
    indonesian = catalogue("id")
    assert sorted(shown_messages() - indonesian.keys()) == []
    assert [m for m in shown_messages() if not indonesian[m]] == []


def test_the_english_catalogue_knows_the_same_messages() -> None:
    assert catalogue("en").keys() == catalogue("id").keys()


def test_the_catalogues_hold_no_message_the_console_no_longer_shows() -> None:
    assert sorted(catalogue("id").keys() - shown_messages()) == []


def test_indonesian_is_the_default_and_unknown_choices_fall_back_to_it() -> None:
    assert i18n.chosen(None).code == "id"
    assert i18n.chosen("fr").code == "id"
    assert i18n.chosen("en").gettext("My visits") == "My visits"
    assert i18n.chosen("id").gettext("My visits") == "Kunjungan saya"


def test_dates_are_shown_in_wib_as_indonesians_write_them() -> None:
    indonesian, english = i18n.language("id"), i18n.language("en")
    assert indonesian.when("2026-12-02T05:30:00+00:00") == "Rabu, 2 Desember 2026, 12.30 WIB"
    assert english.when("2026-12-02T05:30:00+00:00") == "Wednesday, 2 December 2026, 12:30 WIB"
    assert indonesian.day("2026-12-31") == "Kamis, 31 Desember 2026"
    assert indonesian.clock("2026-12-02T17:05:00+00:00") == "00.05"


def codes_raised_by_intakes_rules() -> set[str]:
    """The `code` of every `_problem(...)` in rules.py and `InvalidNik(...)` in nik.py."""
    codes: set[str] = set()
    for module, call, position in (("rules", "_problem", 2), ("nik", "InvalidNik", 1)):
        tree = ast.parse((DOMAIN / f"{module}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == call:
                code = node.args[position] if len(node.args) > position else None
                if isinstance(code, ast.Constant) and isinstance(code.value, str):
                    codes.add(code.value)
    return codes


def test_every_code_intakes_rules_give_has_words_in_the_catalogues() -> None:
    codes = codes_raised_by_intakes_rules()
    assert len(codes) > 20  # the rules and the NIK's parts, not an empty scan
    assert sorted(codes - PROBLEMS.keys()) == []
