"""Incidents: telling when complaints are about the same problem, with no Slack or store in sight.

Each complaint's redacted text becomes a unit vector: from the configured
server's embeddings endpoint, or, with no embedding model set, from the
lexical fallback here (a hashed bag of word stems, which needs no network
and no model download).  A complaint joins an open incident only when it is
close to the incident's centroid (the normalised mean of its members'
vectors), never merely to one member; a new incident forms when at least
``min_size`` loose complaints of the window sit close to their own centroid.

Vectors from the two sources live in different spaces: an incident keeps
the ``source`` of its vectors and only vectors of the same source are
compared.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

Vector = list[float]



class IncidentState(StrEnum):
    """An incident's life: open (collecting, editable) -> sending (approve for all) -> sent.

    Open or sending again when a fan-out gives up; merged when folded into another.
    """

    OPEN = "open"
    SENDING = "sending"
    SENT = "sent"
    MERGED = "merged"


LEXICAL = "lexical"
LEXICAL_DIMS = 512
_WORD = re.compile(r"[^\W\d_]{2,}|\d{3,}", re.UNICODE)
# Words that say nothing about which problem a complaint is about.
_STOP_WORDS = (
    "a an and are as at be been but by can could did do does for from had has have hi hello "
    "how i if in into is it its just me my no not now of on or our please so still than that "
    "the their them then there they this to too us was we were what when where which who why "
    "will with would you your yours i'm im it's dont don't can't cant ve ll re am been being "
    "again any all also get got very really hey thanks thank"
)
_STOP = frozenset(_STOP_WORDS.split())
_SUFFIXES = ("ingly", "edly", "ing", "ed", "es", "ly", "s")
# How much looser than the threshold a candidate for a new incident may be (see new_group).
SEED_FACTOR = 0.7
ORDER = re.compile(r"(?<![\w#])#?(\d{4,10})\b")


class Embedder(Protocol):
    """Turns texts into vectors; ``source`` names the space they live in."""

    @property
    def source(self) -> str: ...

    async def embed(self, texts: Sequence[str]) -> list[Vector]: ...


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def lexical_vector(text: str, dims: int = LEXICAL_DIMS) -> Vector:
    """A unit vector of the text's hashed word stems (stop words left out)."""
    vector = [0.0] * dims
    for match in _WORD.finditer(text.lower()):
        word = match.group(0)
        if word in _STOP:
            continue
        digest = hashlib.blake2b(_stem(word).encode(), digest_size=4).digest()
        vector[int.from_bytes(digest, "big") % dims] += 1.0
    return normalised(vector)


class LexicalEmbedder:
    """The no-network fallback: ``lexical_vector`` for every text."""

    source = LEXICAL

    async def embed(self, texts: Sequence[str]) -> list[Vector]:
        return [lexical_vector(text) for text in texts]


def normalised(vector: Sequence[float]) -> Vector:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm else list(vector)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors (0 when either is empty or of another size)."""
    if len(a) != len(b) or not a:
        return 0.0
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norms if norms else 0.0


def centroid(vectors: Sequence[Sequence[float]]) -> Vector:
    """The normalised mean of ``vectors``: what the incident as a whole is about."""
    if not vectors:
        return []
    total = [0.0] * len(vectors[0])
    for vector in vectors:
        for i, x in enumerate(vector):
            total[i] += x
    return normalised(total)


@dataclass(frozen=True)
class OpenIncident:
    id: int
    centroid: Vector


@dataclass(frozen=True)
class Loose:
    """A recent complaint that belongs to no incident yet."""

    complaint_id: int
    vector: Vector


def closest_incident(
    vector: Vector, incidents: Sequence[OpenIncident], threshold: float
) -> int | None:
    """The open incident whose centroid is closest to ``vector``, if close enough."""
    best, best_score = None, threshold
    for incident in incidents:
        score = cosine(vector, incident.centroid)
        if score >= best_score:
            best, best_score = incident.id, score
    return best


def new_group(
    complaint_id: int, vector: Vector, loose: Sequence[Loose], *, threshold: float, min_size: int
) -> list[int] | None:
    """The complaints that form a new incident with this one, or None.

    Candidates are gathered with a looser bar (two short complaints about one
    problem share few words); then only those close to the group's centroid
    stay, at the full threshold (so one bridge member cannot pull two problems
    together), and the group must still hold ``min_size``.
    """
    bar = threshold * SEED_FACTOR
    group = [Loose(complaint_id, vector)] + [
        other for other in loose
        if other.complaint_id != complaint_id and cosine(vector, other.vector) >= bar
    ]
    if len(group) < min_size:
        return None
    middle = centroid([member.vector for member in group])
    kept = [member for member in group if cosine(member.vector, middle) >= threshold]
    if len(kept) < min_size or kept[0].complaint_id != complaint_id:
        return None
    return [member.complaint_id for member in kept]


def order_number(text: str) -> str | None:
    """The first order-like number a customer gave (``#4821``), for their part of the card."""
    found = ORDER.search(text)
    return f"#{found.group(1)}" if found else None


def personal_reply(shared_text: str, *, name: str | None, order: str | None) -> str:
    """One customer's reply: the shared draft, addressed to them and naming their order."""
    first = (name or "").split(" ")[0].strip()
    greeting = f"Hi {first}," if first else "Hi,"
    about = f" (your order {order})" if order else ""
    opening = f"{greeting} thank you for telling us about this{about}."
    return f"{opening}\n\n{shared_text.strip()}"


def incident_context(description: str) -> str:
    """What a declared incident adds to each draft's channel context (agents' words)."""
    return (
        f"Declared incident, written by our support agents: {description.strip()}\n"
        "Give customers only the times and dates this note gives; invent no other ETA."
    )
