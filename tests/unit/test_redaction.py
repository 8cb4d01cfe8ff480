"""What operators read of a dead letter: NIKs to their last four digits, names gone, addresses
and a home visit's coordinates withheld."""

import json
from typing import Any

from ots_runtime.redaction import (
    REDACTED,
    mask_nik_digits,
    redact_body,
    redact_original,
    redact_text,
    redact_value,
)

NIK = "3509014501010001"
OTHER_NIK = "3509015502900002"


def visit_requested() -> str:
    return json.dumps(
        {
            "id": "evt-1",
            "subject": "v-1",
            "data": {
                "visit_id": "v-1",
                "requester": {"agency_type": "hospital", "agency_name": "RSUD dr. Soebandi"},
                "venue": {"type": "hospital", "name": "RSUD dr. Soebandi"},
                "residents": [{"nik": NIK, "name": "Budi Santoso", "needs": ["bedridden"]}],
                "note": f"call the family of {OTHER_NIK}",
            },
        }
    )


def test_a_nik_standing_alone_is_masked_to_its_last_four_digits() -> None:
    assert mask_nik_digits(f"nik {NIK}.") == "nik ************0001."
    assert mask_nik_digits(f"capture-{NIK}-1") == "capture-************0001-1"


def test_longer_and_shorter_digit_runs_are_not_taken_for_niks() -> None:
    assert mask_nik_digits("12345678901234567") == "12345678901234567"
    assert mask_nik_digits("123456789012345") == "123456789012345"


def test_the_body_keeps_only_the_last_four_digits_of_every_nik() -> None:
    redacted = redact_body(visit_requested())
    text = json.dumps(redacted)
    assert NIK not in text and OTHER_NIK not in text
    assert redacted["data"]["residents"][0]["nik"] == "************0001"
    assert redacted["data"]["note"] == "call the family of ************0002"


def test_the_body_drops_every_name_but_keeps_what_operators_need() -> None:
    redacted = redact_body(visit_requested())
    assert "Budi" not in json.dumps(redacted)
    assert redacted["data"]["residents"][0] == {"nik": "************0001", "needs": ["bedridden"]}
    assert "name" not in redacted["data"]["venue"]
    assert redacted["data"]["requester"]["agency_name"] == "RSUD dr. Soebandi"
    assert redacted["data"]["visit_id"] == "v-1" and redacted["id"] == "evt-1"


def test_lists_of_niks_and_malformed_niks_under_a_nik_key_are_masked_too() -> None:
    body = json.dumps({"data": {"absent_niks": [NIK, OTHER_NIK], "nik": "350901450101"}})
    redacted = redact_body(body)
    assert redacted["data"]["absent_niks"] == ["************0001", "************0002"]
    assert redacted["data"]["nik"] == REDACTED


def test_a_body_that_is_not_json_is_redacted_as_text() -> None:
    assert redact_body(f'{{not json "name": "Budi", nik {NIK}') == (
        f'{{not json "name": "{REDACTED}", nik ************0001'
    )
    assert redact_body("") == ""


def test_the_error_text_keeps_no_nik_and_no_quoted_name() -> None:
    error = (
        f"ValueError: resident {NIK} {{'name': 'Budi Santoso', 'nik': '{NIK}'}} "
        f'and {{"full_name": "Siti \\"Ani\\" Rahayu"}}'
    )
    redacted = redact_text(error)
    assert NIK not in redacted and "Budi" not in redacted and "Siti" not in redacted
    assert "Rahayu" not in redacted
    assert redacted.startswith("ValueError: resident ************0001 ")
    assert f"'name': \"{REDACTED}\"" in redacted


def test_an_agency_name_in_the_error_text_is_kept() -> None:
    assert redact_text("agency_name='Dinsos Jember'") == "agency_name='Dinsos Jember'"


def test_asyncpg_key_details_are_masked() -> None:
    unique = f"Key (nik)=({NIK}) already exists."
    assert redact_text(unique) == "Key (nik)=(************0001) already exists."
    several = f"Key (visit_id, nik, name)=(v-1, {NIK}, Budi Santoso) already exists."
    assert redact_text(several) == (
        f"Key (visit_id, nik, name)=(v-1, ************0001, {REDACTED}) already exists."
    )
    assert (
        redact_text("Key (visit_id)=(v-1) is not present") == "Key (visit_id)=(v-1) is not present"
    )


def test_a_failing_row_and_pydantic_input_values_are_withheld() -> None:
    row = f"DETAIL: Failing row contains (v-1, {NIK}, Budi Santoso, null)."
    assert redact_text(row) == f"DETAIL: Failing row contains ({REDACTED})."
    pydantic = (
        "name\n  String too long [type=string_too_long, input_value='Budi Santoso', input_type=str]"
    )
    assert "Budi" not in redact_text(pydantic)
    assert f"input_value={REDACTED}, input_type=str" in redact_text(pydantic)


def test_redacting_twice_changes_nothing_more() -> None:
    error = f"Key (nik)=({NIK}) already exists; 'name': 'Budi'; Failing row contains (x)"
    once = redact_text(error)
    assert redact_text(once) == once
    body = redact_body(visit_requested())
    assert redact_body(json.dumps(body)) == body


def test_a_dead_letters_original_loses_niks_and_names_even_in_free_text() -> None:
    body = json.loads(visit_requested())
    body["data"]["note"] = "ask at rumah Budi Santoso, Ajung"
    kept = redact_original(json.dumps(body).encode()).decode()
    assert NIK not in kept and OTHER_NIK not in kept and "Budi Santoso" not in kept
    assert "************0001" in kept and f"ask at rumah {REDACTED}, Ajung" in kept


def home_visit(address: str = "Jl. Kenanga 7, Dusun Krajan, Ajung") -> dict[str, Any]:
    body: dict[str, Any] = json.loads(visit_requested())
    body["data"]["venue"] = {"type": "home", "name": "Rumah Budi", "address": address,
                             "kecamatan_code": "350901", "lat": -8.2301, "lon": 113.6402}  # fmt: skip
    return body


def test_a_home_visits_address_and_coordinates_are_withheld_from_a_dead_letter() -> None:
    kept = json.loads(redact_original(json.dumps(home_visit()).encode()))
    assert kept["data"]["venue"] == {"type": "home", "address": REDACTED,
                                     "kecamatan_code": "350901", "lat": REDACTED,
                                     "lon": REDACTED}  # fmt: skip
    assert redact_body(json.dumps(home_visit()))["data"]["venue"] == kept["data"]["venue"]


def test_an_address_is_withheld_wherever_it_stands_and_wherever_it_is_repeated() -> None:
    body = home_visit()
    body["data"]["requester"]["alamat"] = "Jl. Melati 3, Jember"
    body["data"]["note"] = "the house at Jl. Kenanga 7, Dusun Krajan, Ajung has a red gate"
    kept = redact_original(json.dumps(body).encode()).decode()
    assert "Kenanga" not in kept and "Melati" not in kept
    assert json.loads(kept)["data"]["requester"]["alamat"] == REDACTED
    assert json.loads(kept)["data"]["note"] == f"the house at {REDACTED} has a red gate"


def test_a_public_venues_coordinates_and_an_empty_address_are_kept() -> None:
    school = {"type": "school", "name": "SDN Ajung 1", "address": "", "lat": -8.2, "lon": 113.6}
    assert redact_value(school) == {"type": "school", "address": "", "lat": -8.2, "lon": 113.6}
    base = {"team_id": "team-03", "base": {"lat": -8.17, "lon": 113.7}}
    assert redact_value(base) == base


def test_an_address_in_error_text_is_withheld() -> None:
    assert redact_text("{'address': 'Jl. Kenanga 7'} refused") == (
        f"{{'address': \"{REDACTED}\"}} refused"
    )
    assert redact_text("Key (visit_id, alamat)=(v-1, Jl. Kenanga 7) already exists.") == (
        f"Key (visit_id, alamat)=(v-1, {REDACTED}) already exists."
    )


def test_an_original_with_nothing_personal_is_kept_byte_for_byte_and_bytes_lose_niks() -> None:
    cancelled = b'{"id":"evt-9",  "data": {"visit_id": "v-9", "reason": "moved"}}'
    assert redact_original(cancelled) == cancelled
    assert redact_original(b"\xff nik " + NIK.encode()) == b"\xff nik ************0001"
    assert redact_original(f'{{"nik": "{NIK}", "name": "Budi"'.encode()) == (
        f'{{"nik": "************0001", "name": "{REDACTED}"'.encode()
    )
