"""A person's capture chain assembles the same whatever the order of arrival."""

import hashlib
import itertools

from contracts.gateway.chain import Admission, Chain, Link
from contracts.gateway.signing import GENESIS_HASH, next_chain_hash


def links(count: int) -> list[Link]:
    made, previous = [], GENESIS_HASH
    for sequence in range(1, count + 1):
        digest = hashlib.sha256(f"sample {sequence}".encode()).hexdigest()
        previous = next_chain_hash(previous, digest)
        made.append(Link(f"cap-{sequence}", sequence, digest, previous))
    return made


def fresh(link: Link) -> Link:
    return Link(link.capture_id, link.sequence, link.sha256, link.chain_hash)


def test_every_arrival_order_links_every_capture() -> None:
    for order in itertools.permutations(links(4)):
        chain = Chain()
        for link in order:
            chain.admit(fresh(link))
        assert chain.held() == [] and len(chain.links) == 4


def test_a_capture_waits_for_its_predecessor_then_links_with_it() -> None:
    first, second, third = links(3)
    chain = Chain()
    assert chain.admit(fresh(third)).admission is Admission.HELD
    assert chain.admit(fresh(first)).admission is Admission.LINKED
    admitted = chain.admit(fresh(second))
    assert [link.capture_id for link in admitted.linked] == ["cap-2", "cap-3"]


def test_the_same_capture_twice_is_a_duplicate_and_another_at_its_place_a_replay() -> None:
    first, _ = links(2)
    chain = Chain()
    chain.admit(fresh(first))
    assert chain.admit(fresh(first)).admission is Admission.DUPLICATE
    impostor = Link("cap-other", 1, first.sha256, first.chain_hash)
    assert chain.admit(impostor).admission is Admission.REPLAYED


def test_a_hash_that_does_not_follow_is_broken_even_when_it_was_held() -> None:
    first, second, third = links(3)
    chain = Chain()
    chain.admit(fresh(first))
    assert (
        chain.admit(Link("cap-x", 2, third.sha256, second.chain_hash)).admission is Admission.BROKEN
    )
    chain.admit(Link("cap-3", 3, third.sha256, "0" * 64))
    admitted = chain.admit(fresh(second))
    assert [link.capture_id for link in admitted.broken] == ["cap-3"]
