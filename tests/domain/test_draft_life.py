"""A draft's life, checked as a table: where each state may go, and that nothing else decides it.

The promises behind the table: nothing reaches a customer without an
agent's click (the only way to "sent" is through a claim), a final card can
never send, and a newer customer message retires every open draft.  The
last test keeps the state strings in one module, so no caller can quietly
grow its own idea of a draft's life.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.domain.draft_life import (
    ANSWERED,
    BORN,
    DECIDED,
    EDITABLE,
    FINAL,
    MOVES,
    OPEN,
    TRANSITIONS,
    DraftMove,
    DraftState,
    can_move,
    sources_of,
    target_of,
)

APP = Path(__file__).resolve().parents[2] / "app"
HOME = APP / "domain" / "draft_life.py"
MIGRATIONS = APP / "store" / "migrations"


def reachable_from(start: frozenset[DraftState]) -> set[DraftState]:
    seen, frontier = set(start), list(start)
    while frontier:
        for after in TRANSITIONS[frontier.pop()]:
            if after not in seen:
                seen.add(after)
                frontier.append(after)
    return seen


def test_the_states_are_the_strings_the_database_already_holds() -> None:
    # Read from the initial migration, which keeps its own copy: a new or
    # renamed state fails here until a migration changes the CHECK constraint.
    spec = importlib.util.spec_from_file_location(
        "initial_migration", MIGRATIONS / "versions" / "0001_initial.py")
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)

    assert sorted(DraftState) == sorted(migration.DRAFT_STATUSES)
    # A column value reads back as its state, and a state writes as the bare string.
    assert DraftState("pending") is DraftState.PENDING and f"{DraftState.SENT}" == "sent"


def test_every_state_is_reachable_from_the_first_draft() -> None:
    assert reachable_from(frozenset({DraftState.DRAFTING})) == set(DraftState)


def test_a_final_draft_goes_nowhere_and_every_other_state_can_end() -> None:
    assert frozenset({DraftState.SENT, DraftState.DISCARDED, DraftState.SUPERSEDED}) == FINAL
    for state in FINAL:
        assert TRANSITIONS[state] == frozenset()
        assert not any(can_move(state, other) for other in DraftState)
    for state in set(DraftState) - FINAL:
        assert reachable_from(frozenset({state})) & FINAL, f"{state} can never end"


def test_only_an_agents_claim_leads_to_sending_and_only_sending_leads_to_sent() -> None:
    into_sending = [move for move in DraftMove if target_of(move) == DraftState.SENDING]
    into_sent = [move for move in DraftMove if target_of(move) == DraftState.SENT]

    assert into_sending == [DraftMove.CLAIM] and sources_of(DraftMove.CLAIM) == EDITABLE
    assert into_sent == [DraftMove.DELIVER]
    assert sources_of(DraftMove.DELIVER) == {DraftState.SENDING}
    assert [s for s in DraftState if can_move(s, DraftState.SENDING)] == [DraftState.PENDING]


def test_a_refused_send_makes_the_draft_approvable_again_and_nothing_else() -> None:
    assert TRANSITIONS[DraftState.SENDING] == {DraftState.PENDING, DraftState.SENT}
    # In flight: neither discarded nor superseded while Slack may be posting it.
    assert DraftState.SENDING not in OPEN


def test_a_newer_customer_message_retires_every_open_draft_and_an_agent_may_discard_them() -> None:
    assert frozenset({DraftState.DRAFTING, DraftState.PENDING, DraftState.FAILED}) == OPEN
    for state in OPEN:
        assert can_move(state, DraftState.SUPERSEDED) and can_move(state, DraftState.DISCARDED)
    assert sources_of(DraftMove.SUPERSEDE) == sources_of(DraftMove.DISCARD) == OPEN


def test_a_failed_draft_is_retried_and_only_a_drafting_one_gets_a_result() -> None:
    assert TRANSITIONS[DraftState.FAILED] == {
        DraftState.DRAFTING, DraftState.SUPERSEDED, DraftState.DISCARDED}
    assert sources_of(DraftMove.FILL) == sources_of(DraftMove.FAIL) == {DraftState.DRAFTING}


def test_no_move_stays_where_it_is_and_each_state_is_entered_by_a_move_or_born() -> None:
    for move, transition in MOVES.items():
        assert transition.target not in transition.sources, move
    entered = {transition.target for transition in MOVES.values()}
    assert entered | BORN == set(DraftState)
    assert set(MOVES) == set(DraftMove)


def test_the_groups_say_what_callers_ask() -> None:
    assert frozenset({DraftState.PENDING}) == EDITABLE
    assert frozenset({DraftState.SENDING, DraftState.SENT}) == ANSWERED
    assert frozenset({DraftState.SENDING, DraftState.SENT, DraftState.DISCARDED}) == DECIDED
    assert can_move("pending", DraftState.SENDING)  # a raw column value is read as a state
    with pytest.raises(ValueError):
        can_move("archived", DraftState.SENDING)


# --- the strings live in one module ---------------------------------------------------


STATE_VALUES = frozenset(state.value for state in DraftState)


def _not_a_state(tree: ast.AST) -> set[int]:
    """Ids of string constants that spell a state's value but are another thing's words.

    Two kinds, told apart by structure rather than by a list of files: the
    member values of an enum (another thing's life, e.g. a job's "failed"),
    and words in a list of words most of which are no state at all (e.g.
    what a sentence may say after "password is").
    """
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
            (base.id if isinstance(base, ast.Name) else getattr(base, "attr", "")).endswith("Enum")
            for base in node.bases
        ):
            found.update(id(statement.value) for statement in node.body
                         if isinstance(statement, ast.Assign))
        elif isinstance(node, ast.List | ast.Tuple | ast.Set):
            words = [e for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            if sum(word.value not in STATE_VALUES for word in words) > len(words) // 2:
                found.update(id(word) for word in words)
    return found


def _state_literals(path: Path, root: Path = APP.parent) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    exempt = _not_a_state(tree)
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and node.value in STATE_VALUES and id(node) not in exempt):
            yield f"{path.relative_to(root)}:{node.lineno}: {node.value!r}"


def test_no_module_but_the_draft_life_spells_a_state() -> None:
    offenders = [
        found
        for path in sorted(APP.rglob("*.py"))
        if path != HOME and MIGRATIONS not in path.parents
        for found in _state_literals(path)
    ]
    assert not offenders, (
        "use DraftState (or a group of app.domain.draft_life) instead of the string; a word "
        "that is not a draft's state (a metrics label, a report key) needs another name:\n"
        + "\n".join(offenders)
    )


def test_the_literal_check_sees_a_state_written_as_a_string(tmp_path: Path) -> None:
    module = tmp_path / "app" / "stray.py"
    module.parent.mkdir()
    module.write_text(
        'from enum import StrEnum\n\n'
        'class JobState(StrEnum):\n    FAILED = "failed"\n\n'
        'NOT_A_PASSWORD = ["wrong", "expired", "sent", "reset"]\n'
        'OPEN = ("drafting", "pending", "failed")\n\n'
        'def sendable(status: str) -> bool:\n    return status == "pending"\n'
    )

    assert list(_state_literals(module, root=tmp_path)) == [
        "app/stray.py:7: 'drafting'", "app/stray.py:7: 'pending'", "app/stray.py:7: 'failed'",
        "app/stray.py:10: 'pending'"]
