"""What a viewer sees of a visit: figures and statuses. NIKs are masked to their last four
digits; names, addresses, coordinates and free text are left out. Fields are kept by name, so
a field added to a request later stays hidden from viewers until it is named here."""

from typing import Any

from ots_runtime.auth import mask_nik

REQUEST_FIELDS = ("services", "expected_people", "priority", "priority_reasons", "window",
                  "fixed_start", "duration_minutes")  # fmt: skip
VENUE_FIELDS = ("type", "kecamatan_code")
RESIDENT_FIELDS = ("needs",)
HISTORY_FIELDS = ("type", "time", "plan_revision", "team_id", "date", "eta", "people_recorded",
                  "people_absent")  # fmt: skip


def _kept(value: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: value[name] for name in fields if name in value}


def request_for_viewer(request: dict[str, Any]) -> dict[str, Any]:
    requester = request.get("requester") or {}
    return _kept(request, REQUEST_FIELDS) | {
        "requester": _kept(requester, ("agency_type", "agency_name")),
        "venue": _kept(request.get("venue") or {}, VENUE_FIELDS),
        "residents": [
            _kept(r, RESIDENT_FIELDS) | {"nik": mask_nik(str(r.get("nik", "")))}
            for r in request.get("residents") or []
        ],
    }


def history_for_viewer(entry: dict[str, Any]) -> dict[str, Any]:
    return _kept(entry, HISTORY_FIELDS)
