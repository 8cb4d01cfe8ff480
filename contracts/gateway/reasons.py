"""Why a gateway message is refused: the `reason` of `ots.recording.rejected`."""

from contracts.enums import RejectionReason

Reason = RejectionReason  # the contract's enumeration, kept once in contracts/enums.py


class Rejected(Exception):
    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.value)
        self.reason = reason
