"""What metrics and intake must report for the visits the simulator requested and worked. Pure."""

from collections import Counter
from collections.abc import Iterable, Mapping

from contracts.enums import Modality
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


def captured_modalities(person: Person) -> set[Modality]:
    return {modality for modality, _ in person.attempts}


def worked(visits: Iterable[VisitPlan]) -> Figures:
    figures = Figures({REJECTED_ANY: 0, DEAD_LETTERS: 0})
    for v in visits:
        venue_type, kecamatan = v.body["venue"]["type"], v.body["venue"]["kecamatan_code"]
        where = {"venue_type": venue_type, "kecamatan": kecamatan}
        priority = v.body.get("priority", "normal")
        figures[series("ots_visits_completed_total", where)] += 1
        figures[series("ots_request_to_completion_seconds_count", {"priority": priority})] += 1
        delivered = [("ktp_el_recording", len(v.present)), *v.services]
        for service_type, count in delivered:
            if count:
                labels = {"service_type": service_type, **where}
                figures[series("ots_services_delivered_total", labels)] += count
                figures[report_row(service_type)] += count
        for person in v.present:
            figures[series("ots_recordings_completed_total", {"venue_type": venue_type})] += 1
            for modality in captured_modalities(person):
                labels = {"modality": modality.value}
                figures[series("ots_capture_quality_count", labels)] += 1
    return figures


def recaptures(visits: Iterable[VisitPlan]) -> int:
    """Recording asks again after every attempt that falls short, except the third."""
    return sum(len(a) - 1 for v in visits for p in v.present for a in p.attempts.values())
