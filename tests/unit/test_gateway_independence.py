"""The SDK stands alone: it imports the standard library, nats-py, pydantic, PyNaCl and the
contract, never a service; recording imports nothing of the SDK; the protocol's checks live once,
in `contracts/gateway/`, where both take them from."""

import ast
import sys
from pathlib import Path

import contracts
import ots_gateway
from tests.unit.test_simulate_independence import imported_modules

ROOT = Path(__file__).resolve().parents[2]
SDK = Path(ots_gateway.__file__).parent
CONTRACTS = Path(contracts.__file__).parent
ALLOWED = {"nats", "pydantic", "nacl", "contracts", "ots_gateway"}
OPTIONAL = {"orjson", "pybase64"}  # used when installed, in contracts/gateway/codec.py only


def top_level(name: str) -> str:
    return name.split(".")[0]


def foreign_imports(path: Path) -> set[str]:
    return {
        name for name in imported_modules(path)
        if top_level(name) not in ALLOWED and top_level(name) not in sys.stdlib_module_names
    }  # fmt: skip


def test_the_sdk_and_the_contract_need_nothing_but_their_declared_dependencies() -> None:
    modules = [*SDK.rglob("*.py"), *CONTRACTS.rglob("*.py")]
    assert len(modules) > 15
    found = {f"{p.relative_to(ROOT)}: {n}" for p in modules for n in foreign_imports(p)}
    assert found == {f"contracts/gateway/codec.py: {n}" for n in OPTIONAL}


def test_the_fast_libraries_are_imported_only_where_their_absence_is_handled() -> None:
    codec = CONTRACTS / "gateway" / "codec.py"
    guarded = {
        alias.name
        for node in ast.walk(ast.parse(codec.read_text()))
        if isinstance(node, ast.Try)
        for statement in node.body
        if isinstance(statement, ast.Import)
        for alias in statement.names
    }
    assert guarded == OPTIONAL


def test_recording_imports_nothing_of_the_sdk_and_the_sdk_nothing_of_a_service() -> None:
    recording = list((ROOT / "services" / "recording").rglob("*.py"))
    assert [
        p for p in recording for n in imported_modules(p) if top_level(n) == "ots_gateway"
    ] == []
    assert [p for p in SDK.rglob("*.py") for n in imported_modules(p)
            if top_level(n) in ("services", "ots", "ots_runtime")] == []  # fmt: skip


def test_the_protocols_checks_are_not_copied_into_recording() -> None:
    moved = ("signing", "chain", "verify", "inbound", "reasons")
    domain = ROOT / "services" / "recording" / "domain"
    assert [m for m in moved if (domain / f"{m}.py").exists()] == []
    canonical_form = 'separators=(",", ":"), ensure_ascii=False'
    for name in (canonical_form, "def next_chain_hash", "class Chain", "def check_known"):
        holders = [p for p in ROOT.glob("[!.]*/**/*.py") if name in p.read_text()]
        assert [p.relative_to(ROOT) for p in holders if "tests" not in p.parts] == [
            next(p.relative_to(ROOT) for p in holders if "contracts" in p.parts)
        ], name
