"""Which kits a visit's services need.

Decided here (the contract names the kits but not the mapping):
- `ktp_el_recording` needs `biometric` (fingerprint, iris, camera, signature pad);
- `ktp_el_print` needs `printer` (blank cards are printed on the spot);
- family card, birth and death certificates, child ID card and change of address are
  SIAK data entry with a printed document: `document` (the laptop kit);
- `ikd_activation` (digital ID) is the resident's phone plus an officer's verification on
  SIAK: `document` as well, no biometric kit, since the face match runs on the phone.
"""

from collections.abc import Iterable

from contracts.enums import Kit, ServiceType

KITS_BY_SERVICE: dict[ServiceType, Kit] = {
    ServiceType.KTP_EL_RECORDING: Kit.BIOMETRIC,
    ServiceType.KTP_EL_PRINT: Kit.PRINTER,
    ServiceType.KK: Kit.DOCUMENT,
    ServiceType.AKTA_KELAHIRAN: Kit.DOCUMENT,
    ServiceType.AKTA_KEMATIAN: Kit.DOCUMENT,
    ServiceType.KIA: Kit.DOCUMENT,
    ServiceType.IKD_ACTIVATION: Kit.DOCUMENT,
    ServiceType.PINDAH_DATANG: Kit.DOCUMENT,
}


def required_kits(services: Iterable[ServiceType]) -> frozenset[Kit]:
    return frozenset(KITS_BY_SERVICE[s] for s in services)


def carries(team_kits: frozenset[Kit], services: Iterable[ServiceType]) -> bool:
    return required_kits(services) <= team_kits
