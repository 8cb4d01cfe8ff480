"""Biometric samples sealed with AES-GCM under a key id, so keys can rotate."""

import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


@dataclass(frozen=True)
class Sealed:
    key_id: str
    nonce: bytes
    ciphertext: bytes


class Keyring:
    """Seals with the active key; opens with whichever key sealed the sample."""

    def __init__(self, keys: dict[str, bytes], active: str) -> None:
        if active not in keys:
            raise ValueError(f"the active biometric key {active!r} is not among the keys")
        if any(len(key) != 32 for key in keys.values()):
            raise ValueError("biometric keys must be 32 bytes (AES-256)")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active = active

    def seal(self, sample: bytes, bound_to: str) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = self._ciphers[self.active].encrypt(nonce, sample, bound_to.encode())
        return Sealed(self.active, nonce, ciphertext)

    def open(self, sealed: Sealed, bound_to: str) -> bytes:
        cipher = self._ciphers[sealed.key_id]
        return cipher.decrypt(sealed.nonce, sealed.ciphertext, bound_to.encode())

    def __repr__(self) -> str:
        return f"Keyring(active={self.active!r}, keys={sorted(self._ciphers)})"
