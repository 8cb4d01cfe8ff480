"""One person's capture chain within a visit, assembled from captures arriving in any order.

A capture links once its predecessor has linked and its `chain_hash` follows from it; until
then it is held. Linking one capture may link the held ones after it, in sequence order, so
the captures that count are the same whatever the order of arrival.
"""

from dataclasses import dataclass, field
from enum import StrEnum

from contracts.events import GatewayCapture
from contracts.gateway.signing import GENESIS_HASH, next_chain_hash

CaptureIdentity = tuple[str, str, int, str, str]
"""What makes two captures with one `capture_id` the same: visit, NIK, sequence, digests."""


def capture_identity(data: GatewayCapture) -> CaptureIdentity:
    return (data.visit_id, data.nik, data.sequence, data.sha256, data.chain_hash)


@dataclass
class Link:
    capture_id: str
    sequence: int
    sha256: str
    chain_hash: str
    linked: bool = False


class Admission(StrEnum):
    DUPLICATE = "duplicate"
    REPLAYED = "replayed"
    BROKEN = "broken"
    HELD = "held"
    LINKED = "linked"


@dataclass
class Admitted:
    admission: Admission
    linked: list[Link] = field(default_factory=list)
    broken: list[Link] = field(default_factory=list)


@dataclass
class Chain:
    links: dict[int, Link] = field(default_factory=dict)

    def admit(self, link: Link) -> Admitted:
        existing = self.links.get(link.sequence)
        if existing is not None:
            same = existing.capture_id == link.capture_id
            return Admitted(Admission.DUPLICATE if same else Admission.REPLAYED)
        previous = self._linked_hash_before(link.sequence)
        if previous is None:
            self.links[link.sequence] = link
            return Admitted(Admission.HELD)
        if next_chain_hash(previous, link.sha256) != link.chain_hash:
            return Admitted(Admission.BROKEN)
        link.linked = True
        self.links[link.sequence] = link
        linked, broken = self._link_held_after(link)
        return Admitted(Admission.LINKED, [link, *linked], broken)

    def held(self) -> list[Link]:
        return [link for link in self.links.values() if not link.linked]

    def _linked_hash_before(self, sequence: int) -> str | None:
        if sequence == 1:
            return GENESIS_HASH
        previous = self.links.get(sequence - 1)
        return previous.chain_hash if previous and previous.linked else None

    def _link_held_after(self, link: Link) -> tuple[list[Link], list[Link]]:
        linked: list[Link] = []
        previous = link
        while (following := self.links.get(previous.sequence + 1)) and not following.linked:
            if next_chain_hash(previous.chain_hash, following.sha256) != following.chain_hash:
                del self.links[following.sequence]
                return linked, [following]
            following.linked = True
            linked.append(following)
            previous = following
        return linked, []
