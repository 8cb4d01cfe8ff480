"""The contract's enumerations: lower-case snake case, never invented by a producer."""

from enum import StrEnum


class VenueType(StrEnum):
    HOME = "home"
    SCHOOL = "school"
    PESANTREN = "pesantren"
    LAPAS = "lapas"
    PANTI_ASUHAN = "panti_asuhan"
    VILLAGE_OFFICE = "village_office"
    CAR_FREE_DAY = "car_free_day"
    COMMUNITY_EVENT = "community_event"


class AgencyType(StrEnum):
    DISPENDUKCAPIL = "dispendukcapil"
    DINSOS = "dinsos"
    KECAMATAN = "kecamatan"
    DESA = "desa"
    SCHOOL = "school"
    PESANTREN = "pesantren"
    LAPAS = "lapas"
    PANTI_ASUHAN = "panti_asuhan"
    COMMUNITY = "community"


class ServiceType(StrEnum):
    KTP_EL_RECORDING = "ktp_el_recording"
    KTP_EL_PRINT = "ktp_el_print"
    KK = "kk"
    AKTA_KELAHIRAN = "akta_kelahiran"
    AKTA_KEMATIAN = "akta_kematian"
    KIA = "kia"
    IKD_ACTIVATION = "ikd_activation"
    PINDAH_DATANG = "pindah_datang"


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"


class PriorityReason(StrEnum):
    DISABILITY = "disability"
    ELDERLY = "elderly"
    BEDRIDDEN = "bedridden"
    INSURANCE_DEADLINE = "insurance_deadline"
    FIRST_TIME_VOTER = "first_time_voter"
    PRISON_RELEASE = "prison_release"
    OTHER = "other"


class Need(StrEnum):
    WHEELCHAIR = "wheelchair"
    BEDRIDDEN = "bedridden"
    VISUAL_IMPAIRMENT = "visual_impairment"
    HEARING_IMPAIRMENT = "hearing_impairment"
    AMPUTEE = "amputee"
    EYE_CONDITION = "eye_condition"
    CANNOT_SIGN = "cannot_sign"


class Kit(StrEnum):
    BIOMETRIC = "biometric"
    PRINTER = "printer"
    DOCUMENT = "document"


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


class DeviceKind(StrEnum):
    FINGERPRINT = "fingerprint"
    IRIS = "iris"
    CAMERA = "camera"
    SIGNATURE_PAD = "signature_pad"
    GATEWAY = "gateway"


class Modality(StrEnum):
    FINGER = "finger"
    IRIS = "iris"
    FACE = "face"
    SIGNATURE = "signature"


class ExceptionKind(StrEnum):
    TEMPORARY = "temporary"
    PERMANENT = "permanent"


class VisitStatus(StrEnum):
    REQUESTED = "requested"
    SCHEDULED = "scheduled"
    UNASSIGNED = "unassigned"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class UnassignedReason(StrEnum):
    """Why dispatch found no team for a visit: the `reason` of `ots.visit.unassigned`."""

    NO_TEAM_WITH_KIT = "no_team_with_kit"
    NO_CAPACITY_IN_WINDOW = "no_capacity_in_window"
    NO_WORKING_DAY_IN_WINDOW = "no_working_day_in_window"
    WINDOW_PASSED = "window_passed"
    BEYOND_HORIZON = "beyond_horizon"
    UNROUTABLE = "unroutable"
    TOO_LARGE_FOR_A_TEAM_DAY = "too_large_for_a_team_day"
    NOT_ENOUGH_TEAMS = "not_enough_teams"


class RejectionReason(StrEnum):
    """Why recording refused a gateway message: the `reason` of `ots.recording.rejected`."""

    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    UNKNOWN_DEVICE = "unknown_device"
    REVOKED_DEVICE = "revoked_device"
    EXPIRED_DEVICE = "expired_device"
    DEVICE_MISMATCH = "device_mismatch"
    BAD_SIGNATURE = "bad_signature"
    HASH_MISMATCH = "hash_mismatch"
    BROKEN_CHAIN = "broken_chain"
    REPLAYED_CHAIN = "replayed_chain"
    NOT_SCHEDULED = "not_scheduled"
    FACE_NOT_EXCEPTABLE = "face_not_exceptable"
    DUPLICATE_CAPTURE_ID = "duplicate_capture_id"
    SOURCE_MISMATCH = "source_mismatch"
    CAPTURED_IN_FUTURE = "captured_in_future"
    CAPTURED_BEFORE_VISIT_DAY = "captured_before_visit_day"


FINGER_POSITIONS = (
    "right_thumb",
    "right_index",
    "right_middle",
    "right_ring",
    "right_little",
    "left_thumb",
    "left_index",
    "left_middle",
    "left_ring",
    "left_little",
)
IRIS_POSITIONS = ("right", "left")

POSITIONS_BY_MODALITY: dict[Modality, tuple[str, ...]] = {
    Modality.FINGER: FINGER_POSITIONS,
    Modality.IRIS: IRIS_POSITIONS,
    Modality.FACE: (),
    Modality.SIGNATURE: (),
}
