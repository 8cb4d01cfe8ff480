"""The contract's completeness rules, as the simulator reads them: which captures make a person
complete, when recording must ask again, which exceptions it must refuse.

From docs (/work/shared/design/domain.md "What a recording captures", contract.md), not from
recording's code, so the figures the simulator expects are a second opinion, not a copy:

- a recording is the 10 fingers, both irises, the face and the signature; it is complete
  when every slot is captured at or above its modality's threshold, or excepted;
- the face can never be excepted: recording refuses such an exception (`face_not_exceptable`);
- three attempts per slot, then the best capture is accepted (and the recording flagged);
  recording asks for a recapture after each attempt below threshold but the third.
"""

from collections.abc import Mapping, Sequence

from contracts.enums import POSITIONS_BY_MODALITY, Modality

Slot = tuple[Modality, str | None]
MAX_ATTEMPTS = 3
THRESHOLDS: Mapping[Modality, int] = {
    Modality.FINGER: 40,  # domain.md: MOSIP's registration-client default
    Modality.IRIS: 60,  # domain.md: MOSIP's default
    Modality.FACE: 50,  # domain.md leaves it to the project: its documented choice
    Modality.SIGNATURE: 30,  # not in domain.md: the project's documented default
}
"""The thresholds of a system run with its defaults, on the contract's 0–100 scale."""
NEVER_EXCEPTED = frozenset({Modality.FACE})


def every_slot() -> list[Slot]:
    """Each finger, each iris, the face and the signature."""
    return [(m, p) for m, ps in POSITIONS_BY_MODALITY.items() for p in (ps or (None,))]


def good_enough(modality: Modality, quality: int) -> bool:
    return quality >= THRESHOLDS[modality]


def recaptures_asked(modality: Modality, qualities: Sequence[int]) -> int:
    """How many recaptures recording asks for a slot captured at these qualities in turn:
    one after each attempt that falls short, except the third."""
    asked = 0
    for attempt, quality in enumerate(qualities, start=1):
        if good_enough(modality, quality) or attempt >= MAX_ATTEMPTS:
            break
        asked += 1
    return asked


def slot_done(modality: Modality, qualities: Sequence[int], excepted: bool) -> bool:
    """Captured well enough, accepted after the third attempt, or validly excepted."""
    return (
        any(good_enough(modality, q) for q in qualities)
        or len(qualities) >= MAX_ATTEMPTS
        or (excepted and modality not in NEVER_EXCEPTED)
    )


def complete(attempts: Mapping[Slot, Sequence[int]], exceptions: Mapping[Slot, str]) -> bool:
    """Every slot done: what recording must report as a completed recording."""
    return all(
        slot_done(slot[0], attempts.get(slot, ()), slot in exceptions) for slot in every_slot()
    )


def refused_exceptions(exceptions: Mapping[Slot, str]) -> int:
    """Exceptions recording must refuse: the face's."""
    return sum(modality in NEVER_EXCEPTED for modality, _ in exceptions)


def quality_modalities(attempts: Mapping[Slot, Sequence[int]]) -> set[Modality]:
    """The modalities a completed recording reports a quality for: those with a capture."""
    return {modality for (modality, _), qualities in attempts.items() if qualities}
