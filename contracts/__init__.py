"""The public message contract of OTS: models, subjects, streams. Every service imports it."""

from contracts.envelope import CloudEvent, RawCloudEvent, envelope, new_event_id
from contracts.subjects import ALL, EventSpec, spec_for_subject

__all__ = [
    "ALL",
    "CloudEvent",
    "EventSpec",
    "RawCloudEvent",
    "envelope",
    "new_event_id",
    "spec_for_subject",
]
