"""`ots simulate` checks the services rather than repeating them: it imports none of their code,
and its reading of the contract's completeness rules agrees with recording's."""

import ast
import itertools
from datetime import date
from pathlib import Path

import ots.simulate
from contracts.enums import Modality
from ots.simulate import rules
from ots.simulate.scenario import build
from services.recording.domain.completeness import (
    Thresholds,
    evaluate,
    needs_recapture,
    slot_of,
)

SIMULATE = Path(ots.simulate.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            names.update(str(a.value) for a in node.args if isinstance(a, ast.Constant))
    return names


def test_no_module_of_ots_simulate_imports_a_service() -> None:
    modules = sorted(SIMULATE.rglob("*.py"))
    assert len(modules) > 10
    offending = {
        f"{path.relative_to(SIMULATE)}: {name}"
        for path in modules
        for name in imported_modules(path)
        if name == "services" or name.startswith("services.")
    }
    assert not offending


def test_the_import_walk_would_see_a_service_import(tmp_path: Path) -> None:
    sneaky = tmp_path / "m.py"
    sneaky.write_text(
        "import services.recording\nfrom services.intake.tokens import Role\n"
        "import importlib\nimportlib.import_module('services.metrics')\n"
    )
    assert imported_modules(sneaky) >= {
        "services.recording", "services.intake.tokens", "services.metrics"
    }  # fmt: skip


def test_the_simulators_thresholds_are_recordings_defaults() -> None:
    assert {m: Thresholds().of(m) for m in Modality} == dict(rules.THRESHOLDS)


def recordings_view(
    attempts: dict[rules.Slot, tuple[int, ...]], exceptions: dict[rules.Slot, str]
) -> tuple[bool, int]:
    """Complete, and recaptures asked, by recording's code; a face exception is refused before
    it reaches completeness, so it never counts there."""
    qualities = {slot_of(m, p): list(q) for (m, p), q in attempts.items()}
    excepted = {slot_of(m, p) for m, p in exceptions if m is not Modality.FACE}
    asked = sum(
        needs_recapture(list(q[:k]), slot_of(m, p) in excepted, Thresholds().of(m))
        for (m, p), q in attempts.items()
        for k in range(1, len(q) + 1)
    )
    return evaluate(qualities, excepted, Thresholds()).complete, asked


def simulators_view(
    attempts: dict[rules.Slot, tuple[int, ...]], exceptions: dict[rules.Slot, str]
) -> tuple[bool, int]:
    asked = sum(rules.recaptures_asked(m, q) for (m, _), q in attempts.items())
    return rules.complete(attempts, exceptions), asked


def test_every_simulated_person_is_judged_alike_by_both_readings() -> None:
    people = [p for seed in (1, 2, 3) for v in build(seed, date(2026, 3, 2)).visits
              for p in v.people]  # fmt: skip
    assert people
    for person in people:
        mine = simulators_view(person.attempts, person.exceptions)
        assert mine == recordings_view(person.attempts, person.exceptions), person.nik
        assert mine[0]


def test_edge_cases_are_judged_alike_by_both_readings() -> None:
    good: dict[rules.Slot, tuple[int, ...]] = {slot: (90,) for slot in rules.every_slot()}
    face, thumb = (Modality.FACE, None), (Modality.FINGER, "right_thumb")
    iris = (Modality.IRIS, "left")
    cases: list[tuple[dict[rules.Slot, tuple[int, ...]], dict[rules.Slot, str]]] = [
        (good, {}),
        ({s: q for s, q in good.items() if s != face}, {face: "bandage"}),  # never excepted
        ({s: q for s, q in good.items() if s != thumb}, {thumb: "amputated"}),
        ({**good, thumb: (10, 20)}, {}),  # a recapture still owed: incomplete
        ({**good, thumb: (10, 20, 30)}, {}),  # accepted after the third, flagged
        ({**good, iris: (59, 60)}, {}),  # the threshold itself is good enough
        ({**good, iris: (59,) * 4}, {}),
        ({s: q for s, q in good.items() if s[0] is not Modality.SIGNATURE}, {}),
    ]
    for attempts, exceptions in cases:
        assert simulators_view(attempts, exceptions) == recordings_view(attempts, exceptions)
    assert [simulators_view(a, e)[0] for a, e in cases] == [
        True, False, True, False, True, True, True, False
    ]  # fmt: skip
    assert rules.refused_exceptions({face: "bandage", thumb: "amputated"}) == 1


def test_recaptures_stop_at_the_first_good_attempt_or_the_third() -> None:
    for qualities in itertools.product((10, 90), repeat=3):
        asked = rules.recaptures_asked(Modality.FINGER, qualities)
        expected = next((i for i, q in enumerate(qualities) if q >= 40), 2)
        assert asked == expected
