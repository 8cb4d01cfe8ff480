"""The conformance kit: vectors that are the contract's bytes and the same on every run, and a
`verify` that judges each line as recording's shared checks do, with or without the fast
libraries."""

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import nacl.signing
import pytest

from contracts.gateway import codec
from contracts.gateway.judge import OfflineJudge
from contracts.gateway.signing import GENESIS_HASH
from ots_gateway.cli import main
from ots_gateway.kit import verify_lines
from ots_gateway.vectors import vectors


def test_vectors_are_the_same_on_every_run() -> None:
    assert json.dumps(vectors()) == json.dumps(vectors())


def test_each_canonical_vector_is_the_contracts_json_form_and_its_signature_verifies() -> None:
    v = vectors()
    public = nacl.signing.VerifyKey(base64.b64decode(v["key"]["public_key_base64"]))
    assert len(v["canonical"]) >= 5
    for case in v["canonical"]:
        unsigned = {k: x for k, x in case["data"].items() if k not in ("signature", "sample")}
        form = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert case["canonical_utf8"] == form
        assert bytes.fromhex(case["canonical_hex"]) == form.encode()
        public.verify(form.encode(), base64.b64decode(case["signature_base64"]))
    assert any("Ñ" in c["canonical_utf8"] for c in v["canonical"])


def test_the_chain_vector_follows_the_contracts_rule() -> None:
    chain = vectors()["chain"]
    previous = chain["genesis"]
    assert previous == GENESIS_HASH == hashlib.sha256(b"").hexdigest()
    for link in chain["links"]:
        sample = base64.b64decode(link["sample_base64"])
        assert link["sha256"] == hashlib.sha256(sample).hexdigest()
        expected = hashlib.sha256(bytes.fromhex(previous) + bytes.fromhex(link["sha256"]))
        assert link["chain_hash"] == expected.hexdigest()
        previous = link["chain_hash"]


def a_log(tmp_path: Path) -> tuple[Path, list[dict[str, Any]], str]:
    v = vectors()
    path = tmp_path / "day.jsonl"
    lines = [json.dumps({"subject": m["subject"], "event": m["event"]}) for m in v["messages"]]
    path.write_text("\n".join(lines) + "\n")
    return path, v["messages"], f"{v['key']['device_id']}={v['key']['public_key_base64']}"


def test_verify_prints_each_lines_verdict_and_fails_when_one_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, cases, key = a_log(tmp_path)
    assert main(["verify", "--key", key, str(path)]) == 1
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"{n} {case['expected']}" for n, case in enumerate(cases, start=1)]
    verdicts = {
        case["name"]: line.split(" ", 1)[1] for case, line in zip(cases, printed, strict=True)
    }
    assert verdicts["a person's first capture"] == "ok"
    assert verdicts["a capture signed by another key"] == "rejected bad_signature"
    assert verdicts["a sample changed after signing"] == "rejected hash_mismatch"
    assert verdicts["another capture claiming sequence 1"] == "rejected replayed_chain"
    assert verdicts["a face exception (never allowed)"] == "rejected face_not_exceptable"
    assert verdicts["a message on another device's subject"] == "rejected device_mismatch"


def test_an_honest_log_passes_and_a_missing_key_makes_every_message_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _, key = a_log(tmp_path)
    honest = tmp_path / "honest.jsonl"
    honest.write_text("\n".join(path.read_text().splitlines()[:2]) + "\n\n")
    assert main(["verify", "--key", key, str(honest)]) == 0
    assert capsys.readouterr().out.splitlines() == ["1 ok", "2 ok"]
    assert main(["verify", str(honest)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "1 rejected unknown_device", "2 rejected unknown_device"
    ]  # fmt: skip


def test_a_capture_whose_predecessor_never_comes_is_a_broken_chain_at_the_end(
    tmp_path: Path,
) -> None:
    v = vectors()
    second = next(m for m in v["messages"] if m["name"].startswith("the second capture"))
    line = json.dumps({"subject": second["subject"], "event": second["event"]})
    keys = {v["key"]["device_id"]: base64.b64decode(v["key"]["public_key_base64"])}
    assert verify_lines([line], keys) == [(1, "rejected broken_chain")]


def test_lines_that_are_not_messages_are_malformed_and_bad_keys_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = ["not json", "[1, 2]", json.dumps({"subject": "ots.gateway.gw-1.capture"}),
             json.dumps({"subject": "ots.gateway.gw-1.selfie", "event": {}}),
             json.dumps({"subject": "ots.gateway.gw-1.capture", "event": "x" * 300_000})]  # fmt: skip
    assert [v for _, v in verify_lines(lines, {})] == [
        "rejected malformed", "rejected malformed", "rejected malformed", "rejected malformed",
        "rejected too_large",
    ]  # fmt: skip
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    assert main(["verify", "--key", "gw-1=c2hvcnQ=", str(path)]) == 2
    assert "32-byte" in capsys.readouterr().err


def test_the_standard_library_alone_gives_the_same_verdicts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    v = vectors()
    keys = {v["key"]["device_id"]: base64.b64decode(v["key"]["public_key_base64"])}
    tricky = [b'{"a": NaN}', b'{"a": 1e400}', b'"\\ud800"', b'{"id": 18446744073709551616}']
    bodies = [(m["subject"], json.dumps(m["event"]).encode()) for m in v["messages"]]
    bodies += [("ots.gateway.gw-vectors-01.capture", body) for body in tricky]

    def judged() -> list[Any]:
        judge = OfflineJudge(keys)
        for subject, body in bodies:
            judge.judge(subject, body)
        return judge.end_of_day()

    fast = judged()
    monkeypatch.setattr(codec, "orjson", None)
    monkeypatch.setattr(codec, "pybase64", None)
    assert judged() == fast
    for body in tricky:
        with pytest.raises(ValueError):
            codec.loads(body) if body != tricky[-1] else _int_as_float(codec.loads(body))


def _int_as_float(value: Any) -> None:
    if isinstance(value["id"], float):
        raise ValueError("read as a float, as orjson reads it")


def test_the_command_is_installed() -> None:
    answer = subprocess.run([sys.executable, "-m", "ots_gateway.cli", "vectors"],
                            capture_output=True, check=True)  # fmt: skip
    assert json.loads(answer.stdout)["key"]["device_id"]
