"""Recording's own Prometheus metrics; labels are reasons and outcomes, never ids."""

from collections.abc import Iterable

from prometheus_client import Counter

from services.recording.domain.reasons import Reason

REJECTED = Counter(
    "ots_recording_rejected_total", "Gateway messages refused by recording, by reason", ["reason"]
)
ACCEPTED = Counter(
    "ots_recording_accepted_total", "Gateway messages verified and applied, by kind", ["kind"]
)


def count_rejected(reasons: Iterable[Reason] | None) -> None:
    for reason in reasons or ():
        REJECTED.labels(reason.value).inc()
