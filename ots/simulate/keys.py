"""The simulated gateways' Ed25519 keys, kept under the data directory across runs."""

from pathlib import Path

from ots_gateway.keys import DeviceKey


def device_key(data_dir: Path, device_id: str) -> DeviceKey:
    return DeviceKey.load_or_create(data_dir / "simulate" / f"{device_id}.key")
