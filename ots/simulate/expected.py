"""What metrics and intake must report for the visits the simulator requested and worked. Pure.

Computed from the contract's rules (`ots.simulate.rules`) and the simulated people alone,
never from the services' code: a figure the system reports is checked, not repeated."""

from collections import Counter
from collections.abc import Iterable, Mapping

from contracts.enums import RejectionReason
from ots.simulate import rules
from ots.simulate.people import Person
from ots.simulate.visit_plan import VisitPlan

Figures = Counter[str]
REJECTED_ANY = "ots_captures_rejected_total{reason=*}"
DEAD_LETTERS = "OTS_DLQ messages"


def series(name: str, labels: Mapping[str, str] | None = None) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted((labels or {}).items()))
    return f"{name}{{{inner}}}"


def report_row(service_type: str) -> str:
    return f"report services{{service_type={service_type}}}"


def requested(visits: Iterable[VisitPlan]) -> Figures:
    figures = Figures()
    for v in visits:
        venue = v.body["venue"]
        labels = {"venue_type": venue["type"], "kecamatan": venue["kecamatan_code"],
                  "priority": v.body.get("priority", "normal")}  # fmt: skip
        figures[series("ots_visits_requested_total", labels)] += 1
    return figures


def recorded(visit: VisitPlan) -> list[Person]:
    """The people present whose recording the contract calls complete."""
    return [p for p in visit.present if rules.complete(p.attempts, p.exceptions)]


def worked(visits: Iterable[VisitPlan]) -> Figures:
    figures = Figures({REJECTED_ANY: 0, DEAD_LETTERS: 0})
    for v in visits:
        venue_type, kecamatan = v.body["venue"]["type"], v.body["venue"]["kecamatan_code"]
        where = {"venue_type": venue_type, "kecamatan": kecamatan}
        priority = v.body.get("priority", "normal")
        people = recorded(v)
        figures[series("ots_visits_completed_total", where)] += 1
        figures[series("ots_request_to_completion_seconds_count", {"priority": priority})] += 1
        delivered = [("ktp_el_recording", len(people)), *v.services]
        for service_type, count in delivered:
            if count:
                labels = {"service_type": service_type, **where}
                figures[series("ots_services_delivered_total", labels)] += count
                figures[report_row(service_type)] += count
        for person in people:
            figures[series("ots_recordings_completed_total", {"venue_type": venue_type})] += 1
            for modality in rules.quality_modalities(person.attempts):
                figures[series("ots_capture_quality_count", {"modality": modality.value})] += 1
        for person in v.present:
            if refused := rules.refused_exceptions(person.exceptions):
                reason = {"reason": RejectionReason.FACE_NOT_EXCEPTABLE.value}
                figures[series("ots_captures_rejected_total", reason)] += refused
                figures[REJECTED_ANY] += refused
    return figures


def recaptures(visits: Iterable[VisitPlan]) -> int:
    """The recaptures recording must ask for: after every attempt short of its threshold,
    except the third."""
    return sum(
        rules.recaptures_asked(modality, qualities)
        for v in visits
        for p in v.present
        for (modality, _), qualities in p.attempts.items()
    )
