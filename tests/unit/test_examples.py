"""The README's example request is one intake accepts."""

import json
from datetime import date
from pathlib import Path

from services.intake.domain.request import NewVisit
from services.intake.domain.rules import check_new_visit

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_the_readme_home_visit_example_is_valid_before_its_window() -> None:
    visit = NewVisit.model_validate(json.loads((EXAMPLES / "home_visit.json").read_text()))
    assert check_new_visit(visit, date(2027, 1, 1)) == []
