"""The fast decoders recording uses give exactly the answers of the contract's reference forms."""

import binascii
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.gateway.signing import canonical_bytes, decode_sample, ed25519_valid


def contract_form(data: dict[str, object]) -> bytes:
    unsigned = {k: v for k, v in data.items() if k not in ("signature", "sample")}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize(
    "data",
    [
        {"nik": "3509210105900001", "quality": 87, "sample": "QUJD", "signature": "x"},
        {"position": "jari kiri — ibu jari", "note": 'é\u2028\U0001f600\x00\x1f\x7f"\\/'},
        {"sequence": 2**63, "beyond_64_bits": 2**70, "negative": -(2**63)},
        {"quality": 87.0, "ratio": 1e16, "small": 1e-7},
        {"nested": {"b": [1, {"d": None, "c": True}], "a": False}, "empty": {}},
        {"deep": [[{"x": [1, "y", 1e16]}]], "first": "a float found only deep inside"},
        {"z": 1, "Z": 2, "é": 3, "e": 4, "\U0001f600": 5, "\uffff": 6},
    ],
)
def test_the_canonical_bytes_are_the_contracts_json_dumps_form(data: dict[str, object]) -> None:
    assert canonical_bytes(data) == contract_form(data)


def test_every_character_is_written_as_the_contract_writes_it() -> None:
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert canonical_bytes({"text": text}) == contract_form({"text": text})


@pytest.mark.parametrize("sample", ["QUJD", "QUI=", "QQ==", "", "AAAA" * 5000])
def test_standard_base64_decodes_as_the_standard_library_decodes_it(sample: str) -> None:
    assert decode_sample(sample) == binascii.a2b_base64(sample, strict_mode=True)


@pytest.mark.parametrize(
    "sample",
    ["QUJ", "QQ==QQ==", "=QUJ", "QU=J", "QUJD=", "QUJD====", "QU\nJD", "QU-_", "QUJD ", "Q===="],
)
def test_anything_but_standard_padded_base64_is_refused(sample: str) -> None:
    assert decode_sample(sample) is None


def test_a_signature_made_with_the_standard_library_of_ed25519_verifies_and_no_alteration_does() -> (
    None
):
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes_raw()
    message = b'{"capture_id":"c-1","quality":87}'
    signature = key.sign(message)
    assert ed25519_valid(public, signature, message)
    assert not ed25519_valid(public, signature, message.replace(b"87", b"88"))
    assert not ed25519_valid(public, bytes([signature[0] ^ 1]) + signature[1:], message)
    assert not ed25519_valid(Ed25519PrivateKey.generate().public_key().public_bytes_raw(),
                             signature, message)  # fmt: skip
    assert not ed25519_valid(public[:31], signature, message)
    assert not ed25519_valid(public, signature[:63], message)
