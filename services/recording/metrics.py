"""Recording's own Prometheus metrics; labels are reasons and outcomes, never ids."""

from prometheus_client import Counter

REJECTED = Counter(
    "ots_recording_rejected_total", "Gateway messages refused by recording, by reason", ["reason"]
)
ACCEPTED = Counter(
    "ots_recording_accepted_total", "Gateway messages verified and applied, by kind", ["kind"]
)
