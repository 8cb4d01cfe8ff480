"""Message catalogues (Bahasa Indonesia by default, English) and WIB dates as each language
writes them. The `.po` files are the only source: they are compiled here, at start-up."""

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from contracts.jember import WIB
from services.intake.console.labels import (
    FIELDS,
    PRIORITIES,
    PROBLEMS,
    RESIDENT_FIELDS,
    SERVICES,
    VENUE_TYPES,
)

CATALOGUES = Path(__file__).with_name("i18n")
DAY_PARAMS = frozenset({"first_day", "earliest", "latest", "today", "day", "recorded_on"})
DOMAIN = "messages"
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
COOKIE = "ots_lang"


@dataclass(frozen=True)
class Language:
    code: str
    translations: Translations
    time_pattern: str

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def when(self, moment: datetime | str | None) -> str:
        """`Rabu, 2 Desember 2026, 12.30 WIB`: a timestamp in Jember's time."""
        if moment is None or moment == "":
            return ""
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        pattern = f"EEEE, d MMMM y, {self.time_pattern}"
        return format_datetime(moment, pattern, tzinfo=WIB, locale=self.code) + " WIB"

    def day(self, day: date | str | None) -> str:
        """`Rabu, 2 Desember 2026`."""
        if day is None or day == "":
            return ""
        if isinstance(day, str):
            day = date.fromisoformat(day)
        return format_date(day, "EEEE, d MMMM y", locale=self.code)

    def clock(self, moment: datetime | str | None) -> str:
        """`12.30` (Indonesian) or `12:30`: a time of day in WIB."""
        if moment is None or moment == "":
            return ""
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        return format_datetime(moment, self.time_pattern, tzinfo=WIB, locale=self.code)

    def label(self, labels: Mapping[str, str]) -> Callable[[str | None], str]:
        def translate(value: str | None) -> str:
            if value is None:
                return ""
            return self.gettext(labels[value]) if value in labels else value

        return translate

    def problem(self, code: str | None, params: Mapping[str, Any] | None, fallback: str) -> str:
        """An API problem in this language by its `code`, the values it names put as this
        language writes them; the API's own words for a code the catalogues do not know."""
        template = PROBLEMS.get(code or "")
        if template is None:
            return fallback
        try:
            return self.gettext(template) % self._params(params or {})
        except (KeyError, TypeError, ValueError):
            return fallback

    def _params(self, params: Mapping[str, Any]) -> dict[str, str]:
        shown = {name: str(value) for name, value in params.items()}
        for name, value in params.items():
            if name in DAY_PARAMS:
                try:
                    shown[name] = self.day(str(value))
                except ValueError:
                    continue
        for name, labels in (("service", SERVICES), ("venue", VENUE_TYPES),
                             ("priority", PRIORITIES)):  # fmt: skip
            if name in params:
                shown[name] = self.label(labels)(str(params[name]))
        if "offered" in params:
            offered = str(params["offered"]).split(", ")
            shown["offered"] = ", ".join(self.label(SERVICES)(s) for s in offered)
        return shown

    def field(self, path: str) -> str:
        """`residents.0.nik` → `NIK of resident 1`, as the form labels it."""
        parts = path.split(".")
        if len(parts) >= 3 and parts[0] == "residents" and parts[1].isdigit():
            message = RESIDENT_FIELDS.get(parts[2])
            if message:
                return self.gettext(message) % {"n": int(parts[1]) + 1}
        known = FIELDS.get(parts[0] if len(parts) == 2 and parts[1].isdigit() else path)
        return self.gettext(known) if known else path


def compile_catalogue(po_path: Path) -> Translations:
    with po_path.open("rb") as po:
        catalog = read_po(po, locale=po_path.parent.parent.name, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@cache
def language(code: str) -> Language:
    if code not in LANGUAGES:
        code = DEFAULT_LANGUAGE
    po = CATALOGUES / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    return Language(code, compile_catalogue(po), "HH.mm" if code == "id" else "HH:mm")


def chosen(cookie: str | None) -> Language:
    return language(cookie if cookie in LANGUAGES else DEFAULT_LANGUAGE)
