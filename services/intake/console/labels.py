"""The words shown for the contract's enumerations; each is a message id of the catalogues."""

from collections.abc import Mapping

from contracts.enums import (
    AgencyType,
    DeviceKind,
    Kit,
    Need,
    Priority,
    PriorityReason,
    ServiceType,
    UnassignedReason,
    VenueType,
    VisitStatus,
    Weekday,
)


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated where it is shown."""
    return message


VENUE_TYPES: Mapping[str, str] = {
    VenueType.HOME: N_("Home"),
    VenueType.SCHOOL: N_("School"),
    VenueType.PESANTREN: N_("Pesantren"),
    VenueType.LAPAS: N_("Prison (lapas)"),
    VenueType.PANTI_ASUHAN: N_("Orphanage (panti asuhan)"),
    VenueType.VILLAGE_OFFICE: N_("Village office"),
    VenueType.CAR_FREE_DAY: N_("Car Free Day"),
    VenueType.COMMUNITY_EVENT: N_("Community event"),
}
AGENCY_TYPES: Mapping[str, str] = {
    AgencyType.DISPENDUKCAPIL: N_("Dispendukcapil (the department)"),
    AgencyType.DINSOS: N_("Dinas Sosial"),
    AgencyType.KECAMATAN: N_("Kecamatan office"),
    AgencyType.DESA: N_("Village (desa)"),
    AgencyType.SCHOOL: N_("School"),
    AgencyType.PESANTREN: N_("Pesantren"),
    AgencyType.LAPAS: N_("Prison (lapas)"),
    AgencyType.PANTI_ASUHAN: N_("Orphanage (panti asuhan)"),
    AgencyType.COMMUNITY: N_("Community"),
}
SERVICES: Mapping[str, str] = {
    ServiceType.KTP_EL_RECORDING: N_("KTP-el recording"),
    ServiceType.KTP_EL_PRINT: N_("KTP-el printing"),
    ServiceType.KK: N_("Family card (KK)"),
    ServiceType.AKTA_KELAHIRAN: N_("Birth certificate"),
    ServiceType.AKTA_KEMATIAN: N_("Death certificate"),
    ServiceType.KIA: N_("Child ID card (KIA)"),
    ServiceType.IKD_ACTIVATION: N_("Digital ID activation (IKD)"),
    ServiceType.PINDAH_DATANG: N_("Change of address"),
}
PRIORITIES: Mapping[str, str] = {
    Priority.URGENT: N_("Urgent"),
    Priority.HIGH: N_("High"),
    Priority.NORMAL: N_("Normal"),
}
PRIORITY_REASONS: Mapping[str, str] = {
    PriorityReason.DISABILITY: N_("Disability"),
    PriorityReason.ELDERLY: N_("Elderly"),
    PriorityReason.BEDRIDDEN: N_("Bedridden"),
    PriorityReason.INSURANCE_DEADLINE: N_("Health insurance deadline"),
    PriorityReason.FIRST_TIME_VOTER: N_("First-time voter"),
    PriorityReason.PRISON_RELEASE: N_("Release from prison"),
    PriorityReason.OTHER: N_("Other"),
}
NEEDS: Mapping[str, str] = {
    Need.WHEELCHAIR: N_("Wheelchair"),
    Need.BEDRIDDEN: N_("Bedridden"),
    Need.VISUAL_IMPAIRMENT: N_("Visual impairment"),
    Need.HEARING_IMPAIRMENT: N_("Hearing impairment"),
    Need.AMPUTEE: N_("Amputee"),
    Need.EYE_CONDITION: N_("Eye condition"),
    Need.CANNOT_SIGN: N_("Cannot sign"),
}
STATUSES: Mapping[str, str] = {
    VisitStatus.REQUESTED: N_("Requested"),
    VisitStatus.SCHEDULED: N_("Scheduled"),
    VisitStatus.UNASSIGNED: N_("Unassigned"),
    VisitStatus.COMPLETED: N_("Completed"),
    VisitStatus.CANCELLED: N_("Cancelled"),
}
UNASSIGNED_REASONS: Mapping[str, str] = {
    UnassignedReason.NO_TEAM_WITH_KIT: N_("No team has the kit these services need."),
    UnassignedReason.NO_CAPACITY_IN_WINDOW: N_(
        "Every team is fully booked on the days of the window."
    ),
    UnassignedReason.NO_WORKING_DAY_IN_WINDOW: N_("No team works on any day of the window."),
    UnassignedReason.WINDOW_PASSED: N_("The window has passed."),
    UnassignedReason.BEYOND_HORIZON: N_(
        "The window starts after the days being planned; it will be planned later."
    ),
    UnassignedReason.UNROUTABLE: N_("No road route reaches the place."),
    UnassignedReason.TOO_LARGE_FOR_A_TEAM_DAY: N_("Too many people for one team in one day."),
    UnassignedReason.NOT_ENOUGH_TEAMS: N_("Not enough teams for this request."),
}
KITS: Mapping[str, str] = {
    Kit.BIOMETRIC: N_("Biometric kit"),
    Kit.PRINTER: N_("Card printer"),
    Kit.DOCUMENT: N_("Document laptop"),
}
WEEKDAYS: Mapping[str, str] = {
    Weekday.MON: N_("Monday"),
    Weekday.TUE: N_("Tuesday"),
    Weekday.WED: N_("Wednesday"),
    Weekday.THU: N_("Thursday"),
    Weekday.FRI: N_("Friday"),
    Weekday.SAT: N_("Saturday"),
    Weekday.SUN: N_("Sunday"),
}
ROLES: Mapping[str, str] = {
    "operator": N_("operator"),
    "agency": N_("partner agency"),
    "viewer": N_("viewer"),
}
DEVICE_KINDS: Mapping[str, str] = {
    DeviceKind.FINGERPRINT: N_("Fingerprint scanner"),
    DeviceKind.IRIS: N_("Iris scanner"),
    DeviceKind.CAMERA: N_("Camera"),
    DeviceKind.SIGNATURE_PAD: N_("Signature pad"),
    DeviceKind.GATEWAY: N_("Tablet (gateway)"),
}

FIELDS: Mapping[str, str] = {
    "requester.agency_type": N_("Agency type"),
    "requester.agency_name": N_("Agency name"),
    "venue.type": N_("Venue type"),
    "venue.name": N_("Venue name"),
    "venue.address": N_("Address"),
    "venue.kecamatan_code": N_("Kecamatan"),
    "venue.lat": N_("Latitude"),
    "venue.lon": N_("Longitude"),
    "services": N_("Services"),
    "residents": N_("Residents"),
    "expected_people": N_("Expected people in all"),
    "priority": N_("Priority"),
    "priority_reasons": N_("Priority reasons"),
    "window.earliest": N_("From"),
    "window.latest": N_("Until"),
    "fixed_start": N_("Starts at (WIB)"),
    "duration_minutes": N_("Duration in minutes"),
}
RESIDENT_FIELDS: Mapping[str, str] = {
    "nik": N_("NIK of resident %(n)s"),
    "name": N_("Name of resident %(n)s"),
    "needs": N_("Needs of resident %(n)s"),
    "override": N_("Override for resident %(n)s"),
}

PROBLEMS: Mapping[str, str] = {
    # intake's rules of the domain (services/intake/domain: rules.py, nik.py)
    "nik_invalid": N_("This NIK cannot have been issued."),
    "nik_length": N_("A NIK is exactly 16 digits; this one has %(length)s characters."),
    "nik_kecamatan_not_in_jember": N_(
        "Kecamatan code %(region)s is not one of Jember's 31 (350901 to 350931)."
    ),
    "nik_province": N_(
        "Province code %(province)s does not exist; provinces run %(low)s to %(high)s."
    ),
    "nik_regency_zero": N_("Regency code 00 (digits 3 and 4 of %(region)s) does not exist."),
    "nik_kecamatan_zero": N_("Kecamatan code 00 (digits 5 and 6 of %(region)s) does not exist."),
    "nik_serial_zero": N_("Serial 0000 is never issued; the last four digits run 0001 to 9999."),
    "nik_birth_day": N_(
        "The birth day (digits 7 and 8) must be 01 to 31 for a man, 41 to 71 for a woman."
    ),
    "nik_birth_month": N_("The birth month (digits 9 and 10) must be 01 to 12."),
    "nik_birth_date": N_("The birth date (digits 7 to 12) is not a real date in the past."),
    "recording_too_young": N_(
        "KTP-el recording starts at %(min_age)s; this resident is %(age)s on %(first_day)s, "
        "the window's first day."
    ),
    "duplicate_nik": N_("The same NIK as resident %(first)s; list each person once."),
    "kecamatan_not_in_jember": N_("%(kecamatan)s is not one of Jember's 31 kecamatan."),
    "outside_jember": N_("%(value)s is outside Jember, which runs from %(low)s to %(high)s."),
    "window_starts_after_end": N_("The window starts on %(earliest)s, after its end (%(latest)s)."),
    "window_ended": N_("The window ended on %(latest)s, before today (%(today)s)."),
    "window_starts_before_today": N_(
        "The window starts on %(earliest)s, before today (%(today)s)."
    ),
    "service_not_at_venue": N_(
        "%(service)s is not offered at this venue type (%(venue)s); offered there: %(offered)s."
    ),
    "fewer_expected_than_listed": N_(
        "%(expected)s people expected, but %(listed)s residents are listed."
    ),
    "home_without_residents": N_("A home visit is for named residents: list at least one."),
    "home_too_many": N_(
        "A home visit serves at most %(most)s people; request a village office visit."
    ),
    "fixed_appointment_needs_it": N_("A visit to %(venue)s is a fixed appointment: fill this in."),
    "not_a_fixed_appointment": N_(
        "A visit to %(venue)s has no fixed start (dispatch plans it): leave this empty."
    ),
    "fixed_start_outside_window": N_(
        "It starts on %(day)s, outside the window (%(earliest)s to %(latest)s)."
    ),
    "car_free_day_not_sunday": N_("Car Free Day is on Sundays; %(day)s is not one."),
    "priority_needs_reason": N_("Priority %(priority)s needs at least one reason."),
    "override_without_recording": N_(
        "An override is only for KTP-el recording, which this request does not include."
    ),
    "already_recorded": N_(
        "This resident was already recorded on %(recorded_on)s (visit %(conflicting_visit_id)s): "
        "recording them again would block their card. Other services are accepted for them; an "
        "operator may override."
    ),
    "resident_open": N_(
        "A resident of this request is already in open request %(conflicting_visit_id)s: wait "
        "for it, or cancel it first."
    ),
    "idempotency_key_reused": N_(
        "This form was already sent with other answers: reload the page and send it again."
    ),
    # the API's schema, as pydantic names its error types
    "missing": N_("Required."),
    "string_too_short": N_("At least %(min_length)s characters."),
    "string_too_long": N_("At most %(max_length)s characters."),
    "too_short": N_("Choose at least %(min_length)s."),
    "too_long": N_("At most %(max_length)s."),
    "int_parsing": N_("Enter a whole number."),
    "int_type": N_("Enter a whole number."),
    "float_parsing": N_("Enter a number."),
    "float_type": N_("Enter a number."),
    "enum": N_("Choose one of the options."),
    "literal_error": N_("Choose one of the options."),
    "date_parsing": N_("Enter a date."),
    "date_from_datetime_parsing": N_("Enter a date."),
    "datetime_parsing": N_("Enter a date and time."),
    "datetime_from_date_parsing": N_("Enter a date and time."),
    "greater_than_equal": N_("At least %(ge)s."),
    "less_than_equal": N_("At most %(le)s."),
    "greater_than": N_("More than %(gt)s."),
    "less_than": N_("Less than %(lt)s."),
    "string_pattern_mismatch": N_("Not in the expected form."),
}
"""What the API's `errors[].code` (and a 409's `code`) say, with their `params`; a code not
here is shown as the API's own English `message`."""
