"""A draft's life: its states, the one table of moves between them, and the groups read from it.

``MOVES`` is the only place that says which state a draft may leave for
which: the store's conditional UPDATEs take their ``WHERE status IN (...)``
from it (so "only a pending draft can be claimed" is written once), and the
card shows a button only when the table allows the move behind it.

The values are the strings stored in ``drafts.status``, so a renamed or added
state needs a migration (the initial one keeps its own copy of the strings:
history must not change when this enum does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from types import MappingProxyType
from typing import Final


class DraftState(StrEnum):
    # The model is writing it (a job re-run after a crash finds it again).
    DRAFTING = "drafting"
    # Ready for an agent: approve, edit, regenerate, pick offers, discard.
    PENDING = "pending"
    # An approve click won the claim; the reply is being posted.
    SENDING = "sending"
    # The reply is in the customer's thread (or was handed to the agent to paste).
    SENT = "sent"
    DISCARDED = "discarded"
    # The customer wrote again, or a Retry made a newer version.
    SUPERSEDED = "superseded"
    # The model could not draft it; Retry drafts it again.
    FAILED = "failed"


class DraftMove(Enum):
    """What can happen to a draft; each move has one target and the states it may leave."""

    FILL = "fill"  # the reviewed draft is stored
    FAIL = "fail"  # the model gave up
    RETRY = "retry"  # an agent pressed Retry on a failed draft: drafted again in place
    SUPERSEDE = "supersede"  # a newer customer message, or a Retry that adds a version
    CLAIM = "claim"  # an approve click wins the right to post
    RELEASE = "release"  # Slack refused the reply: approvable again
    DELIVER = "deliver"  # the reply was posted
    DISCARD = "discard"  # an agent threw it away


@dataclass(frozen=True)
class Transition:
    sources: frozenset[DraftState]
    target: DraftState


# What a newer customer message retires, and what an agent may still throw
# away: a stale card's Discard works even while a Retry is drafting again.
OPEN: Final = frozenset({DraftState.DRAFTING, DraftState.PENDING, DraftState.FAILED})
# A draft whose text, offers and tone an agent may still change (in place:
# an edit is not a move, the draft stays where it is).
EDITABLE: Final = frozenset({DraftState.PENDING})
# The states a new version starts in: superseded straight away when the
# customer already wrote again before its job started.
BORN: Final = frozenset({DraftState.DRAFTING, DraftState.SUPERSEDED})

MOVES: Final[Mapping[DraftMove, Transition]] = MappingProxyType({
    DraftMove.FILL: Transition(frozenset({DraftState.DRAFTING}), DraftState.PENDING),
    DraftMove.FAIL: Transition(frozenset({DraftState.DRAFTING}), DraftState.FAILED),
    DraftMove.RETRY: Transition(frozenset({DraftState.FAILED}), DraftState.DRAFTING),
    DraftMove.SUPERSEDE: Transition(OPEN, DraftState.SUPERSEDED),
    DraftMove.CLAIM: Transition(EDITABLE, DraftState.SENDING),
    DraftMove.RELEASE: Transition(frozenset({DraftState.SENDING}), DraftState.PENDING),
    DraftMove.DELIVER: Transition(frozenset({DraftState.SENDING}), DraftState.SENT),
    DraftMove.DISCARD: Transition(OPEN, DraftState.DISCARDED),
})

# The same table seen from each state: where it may go next.
TRANSITIONS: Final[Mapping[DraftState, frozenset[DraftState]]] = MappingProxyType({
    state: frozenset(t.target for t in MOVES.values() if state in t.sources)
    for state in DraftState
})

# No way out: a final card can never send, whatever copy of it is clicked.
FINAL: Final = frozenset(state for state, exits in TRANSITIONS.items() if not exits)
# A version in one of these holds its complaint's one reply (being posted or posted).
ANSWERED: Final = frozenset({MOVES[DraftMove.CLAIM].target, MOVES[DraftMove.DELIVER].target})
# An agent clicked Approve or Discard, and the draft still carries who and when.
DECIDED: Final = ANSWERED | {MOVES[DraftMove.DISCARD].target}


def sources_of(move: DraftMove) -> frozenset[DraftState]:
    """The states ``move`` may leave: the store's ``WHERE status IN (...)`` for it."""
    return MOVES[move].sources


def target_of(move: DraftMove) -> DraftState:
    return MOVES[move].target


def can_move(state: DraftState | str, to: DraftState) -> bool:
    """May a draft in ``state`` go to ``to`` by some move of the table?"""
    return to in TRANSITIONS[DraftState(state)]
