"""Text an operator types: no control characters (NUL, escapes, C1), which PostgreSQL, logs and
terminals each mishandle in their own way. Names and ids are one line; free text (addresses,
notes, reasons) may hold tabs and line breaks."""

import re
from typing import Annotated

from pydantic import AfterValidator

from contracts.events import LongText, Text

_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _refuse(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        found = pattern.search(value)
        if found is not None:
            raise ValueError(f"must not contain control characters ({what}); found U+"
                             f"{ord(found.group()):04X} at position {found.start()}")  # fmt: skip
        return value

    return AfterValidator(check)


ONE_LINE = _refuse(_ANY_CONTROL, "not even tabs or line breaks")
FREE_TEXT = _refuse(_CONTROL_BUT_LINES, "tabs and line breaks are allowed")

Name = Annotated[Text, ONE_LINE]
FreeText = Annotated[LongText, FREE_TEXT]
