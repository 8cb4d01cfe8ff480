"""Prometheus metrics of message handling, labelled by subject pattern, never by device id."""

from prometheus_client import Counter, Gauge, Histogram

from contracts import spec_for_subject

MESSAGES_HANDLED = Counter(
    "ots_messages_handled_total",
    "Messages a service consumed, by subject pattern and outcome",
    ["service", "subject", "outcome"],
)
HANDLING_SECONDS = Histogram(
    "ots_message_handling_seconds",
    "Time to handle one batch of messages, by consumer",
    ["service", "consumer"],
)
DEAD_LETTERED = Counter(
    "ots_messages_dead_lettered_total",
    "Messages sent to the dead-letter queue, by subject pattern",
    ["service", "subject"],
)
OUTBOX_PUBLISHED = Counter(
    "ots_outbox_published_total", "Events the outbox relay published", ["schema"]
)


def subject_label(subject: str) -> str:
    """The contract's subject pattern (`ots.gateway.*.capture`), or `other`."""
    spec = spec_for_subject(subject)
    return spec.pattern if spec else "other"


WORKER_RUNNING = Gauge(
    "ots_worker_running",
    "1 while a service's consumer, relay or planner runs; 0 while it waits to be restarted",
    ["service", "worker"],
)
WORKER_RESTARTS = Counter(
    "ots_worker_restarts_total",
    "Times a consumer, relay or planner died and was restarted",
    ["service", "worker"],
)
CONSUMER_WAITING = Gauge(
    "ots_consumer_waiting_for_database",
    "1 while a consumer holds its batch until the database answers again",
    ["service", "consumer"],
)
MAX_DELIVERIES = Counter(
    "ots_max_deliveries_settled_total",
    "Messages that reached max_deliver unsettled, by what was done: dead-lettered or already applied",
    ["service", "consumer", "outcome"],
)
