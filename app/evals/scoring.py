"""Judging a draft against a case's expectations, deterministically, one check per expectation.

Everything is read from the pipeline's structured result, after the
guardrails: the offers that survived, the checklist of the seven steps, the
triage's language and escalation, the reply text.  No model is asked, so a
check passes or fails the same way every time for the same draft.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.domain.models import DraftResult
from app.evals.cases import Expectations


@dataclass(frozen=True)
class Check:
    """One expectation judged: ``detail`` says what was found when it failed."""

    name: str
    passed: bool
    detail: str = ""


def score(expect: Expectations, result: DraftResult) -> list[Check]:
    """One ``Check`` per expectation the case sets, in ``EXPECTATIONS`` order."""
    return [_JUDGES[name](expect, result) for name in expect.names()]


def _offer_ids(result: DraftResult) -> list[str]:
    return [offer.offer_id for offer in result.offers]


def _offers_allowed(expect: Expectations, result: DraftResult) -> Check:
    allowed = set(expect.offers_allowed or [])
    other = [o for o in _offer_ids(result) if o not in allowed]
    return Check("offers_allowed", not other, f"not allowed: {', '.join(other)}" if other else "")


def _offers_forbidden(expect: Expectations, result: DraftResult) -> Check:
    made = [o for o in _offer_ids(result) if o in set(expect.offers_forbidden)]
    return Check(
        "offers_forbidden", not made, f"forbidden offer made: {', '.join(made)}" if made else ""
    )


def _offers_count(expect: Expectations, result: DraftResult) -> Check:
    assert expect.offers_count is not None
    count = len(result.offers)
    low, high = expect.offers_count.min, expect.offers_count.max
    passed = count >= low and (high is None or count <= high)
    wanted = f"{low}..{high}" if high is not None else f"at least {low}"
    return Check("offers_count", passed, "" if passed else f"{count} offers, wanted {wanted}")


def _steps_covered(expect: Expectations, result: DraftResult) -> Check:
    missing = [step.value for step in expect.steps_covered if not result.checklist.get(step)]
    return Check("steps_covered", not missing, f"missing: {', '.join(missing)}" if missing else "")


def _must_not_match(expect: Expectations, result: DraftResult) -> Check:
    hits = [
        p for p in expect.must_not_match if re.search(p, result.text, re.IGNORECASE | re.MULTILINE)
    ]
    return Check("must_not_match", not hits, f"matched: {', '.join(hits)}" if hits else "")


def _language(expect: Expectations, result: DraftResult) -> Check:
    found = result.triage.language.strip().lower()[:2]
    passed = found == expect.language
    return Check("language", passed, "" if passed else f"drafted for '{found or '?'}'")


def _escalate(expect: Expectations, result: DraftResult) -> Check:
    found = result.triage.needs_escalation
    passed = found == expect.escalate
    return Check(
        "escalate", passed, "" if passed else f"escalation {'raised' if found else 'not raised'}"
    )


def _max_chars(expect: Expectations, result: DraftResult) -> Check:
    length = len(result.text)
    passed = expect.max_chars is not None and length <= expect.max_chars
    return Check("max_chars", passed, "" if passed else f"{length} characters")


def _reply_required(expect: Expectations, result: DraftResult) -> Check:
    drafted = bool(result.text.strip())
    passed = drafted == expect.reply_required
    return Check(
        "reply_required",
        passed,
        "" if passed else ("drafted a reply" if drafted else "no reply drafted"),
    )


_JUDGES = {
    "offers_allowed": _offers_allowed,
    "offers_forbidden": _offers_forbidden,
    "offers_count": _offers_count,
    "steps_covered": _steps_covered,
    "must_not_match": _must_not_match,
    "language": _language,
    "escalate": _escalate,
    "max_chars": _max_chars,
    "reply_required": _reply_required,
}
