"""The grouping rules: the lexical fallback, the centroid rule, and each customer's own reply."""

from __future__ import annotations

import random
from pathlib import Path

import yaml

from app.domain.incidents import (
    Loose,
    OpenIncident,
    centroid,
    closest_incident,
    cosine,
    incident_context,
    lexical_vector,
    new_group,
    order_number,
    personal_reply,
)

FIXTURES = yaml.safe_load(
    (Path(__file__).parents[1] / "fixtures" / "incidents" / "burst.yaml").read_text()
)
THRESHOLD = 0.4  # the TACTFUL_INCIDENT_THRESHOLD default


def place_all(texts: list[tuple[str, str]]) -> tuple[list[list[str]], list[str]]:
    """Place labelled complaints one by one as the store does; returns groups and loose labels."""
    incidents: list[tuple[list[float], list[int]]] = []
    loose: list[Loose] = []
    labels = [label for label, _ in texts]
    for number, (_, text) in enumerate(texts):
        vector = lexical_vector(text)
        found = closest_incident(
            vector, [OpenIncident(i, c) for i, (c, _) in enumerate(incidents)], THRESHOLD
        )
        if found is not None:
            middle, members = incidents[found]
            incidents[found] = (centroid([[x * len(members) for x in middle], vector]),
                                [*members, number])
            continue
        group = new_group(number, vector, loose, threshold=THRESHOLD, min_size=3)
        if group is None:
            loose.append(Loose(number, vector))
            continue
        vectors = [vector] + [item.vector for item in loose if item.complaint_id in group]
        incidents.append((centroid(vectors), group))
        loose = [item for item in loose if item.complaint_id not in group]
    groups = [[labels[n] for n in members] for _, members in incidents]
    return groups, [labels[item.complaint_id] for item in loose]


def test_the_lexical_fallback_groups_paraphrases_and_leaves_unrelated_complaints_alone() -> None:
    texts = [(label, t) for label, ts in FIXTURES["problems"].items() for t in ts]
    texts += [("unrelated", t) for t in FIXTURES["unrelated"]]
    for seed in range(5):
        random.Random(seed).shuffle(texts)
        groups, loose = place_all(texts)
        assert sorted(g[0] for g in groups) == sorted(FIXTURES["problems"]), (seed, groups)
        assert all(len(set(group)) == 1 for group in groups), "no group mixes two problems"
        assert sorted(len(g) for g in groups) == sorted(len(v) for v in FIXTURES["problems"].values())
        assert set(loose) == {"unrelated"}


def test_a_complaint_close_to_one_member_but_not_to_the_incident_stays_out() -> None:
    members = [lexical_vector(t) for t in FIXTURES["problems"]["double_charge"]]
    incident = OpenIncident(1, centroid(members))
    # Worded like one member ("identical ... twice this month"), about another problem.
    bridge = lexical_vector("Two identical jackets were sent twice this month, both torn.")
    assert max(cosine(bridge, m) for m in members) >= THRESHOLD
    assert closest_incident(bridge, [incident], THRESHOLD) is None


def test_two_complaints_alone_do_not_open_an_incident() -> None:
    texts = FIXTURES["problems"]["app_login"]
    first = Loose(1, lexical_vector(texts[0]))
    assert new_group(2, lexical_vector(texts[1]), [first], threshold=THRESHOLD, min_size=3) is None
    group = new_group(
        3, lexical_vector(texts[2]), [first, Loose(2, lexical_vector(texts[1]))],
        threshold=THRESHOLD, min_size=3,
    )
    assert group is not None and sorted(group) == [1, 2, 3]


def test_each_customer_is_addressed_with_their_own_order() -> None:
    assert order_number("Order #48250: the carrier says") == "#48250"
    assert order_number("nothing to see") is None
    reply = personal_reply("We are on it.", name="Casey Customer", order="#48250")
    assert reply.startswith("Hi Casey, thank you for telling us about this (your order #48250).")
    assert reply.endswith("We are on it.")
    assert personal_reply("We are on it.", name="", order=None).startswith("Hi, thank you")


def test_a_declared_incident_tells_the_draft_to_invent_no_other_eta() -> None:
    note = incident_context("  Carrier outage in the north, ETA Thursday ")
    assert "Carrier outage in the north, ETA Thursday" in note
    assert "invent no other ETA" in note
