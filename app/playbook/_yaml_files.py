"""``offers.yaml`` and ``guardrails.yaml``: read with line numbers, validated into domain models.

The models and their rules (authority limits, patterns that must run in
linear time, keywords that name one offer) belong to ``app.domain``; this
module only turns a file into one of them, or into ``PromptSetError`` naming
the file and line of every problem.
"""

from __future__ import annotations

from pathlib import Path

from app.domain.guardrails import GuardrailPolicy
from app.domain.offers import OfferCatalog
from app.domain.phrases import phrase_words
from app.playbook._errors import PromptError, PromptSetError
from app.playbook._files import decode_text, read_bytes
from app.playbook._yaml import YamlDocument, parse_yaml

CATALOG_FILE = "offers.yaml"
GUARDRAILS_FILE = "guardrails.yaml"


def load_offer_catalog(path: Path, data: bytes | None = None) -> OfferCatalog:
    """The catalog in ``path`` (or in ``data``, its bytes already read)."""
    document = _read(path, data)
    duplicates = _duplicate_offer_ids(document) + _shared_keywords(document)
    if duplicates:
        raise PromptSetError(duplicates)
    return document.validate(OfferCatalog)


def load_guardrail_policy(path: Path, data: bytes | None = None) -> GuardrailPolicy:
    """The guardrail list in ``path`` (or in ``data``, its bytes already read)."""
    return _read(path, data).validate(GuardrailPolicy)


def _read(path: Path, data: bytes | None) -> YamlDocument:
    try:
        text = decode_text(path, read_bytes(path) if data is None else data)
    except PromptError as exc:
        raise PromptSetError([exc]) from None
    return parse_yaml(path, text)


def _duplicate_offer_ids(document: YamlDocument) -> list[PromptError]:
    # The catalog model refuses them too, but only the file knows both lines.
    offers = document.data.get("offers") if isinstance(document.data, dict) else None
    if not isinstance(offers, list):
        return []
    errors = []
    first_index: dict[str, int] = {}
    for index, item in enumerate(offers):
        offer_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(offer_id, str):
            continue
        if offer_id in first_index:
            first_line = document.line_of(("offers", first_index[offer_id], "id"))
            errors.append(
                document.error(
                    ("offers", index, "id"),
                    f"duplicate offer id '{offer_id}' (first defined on line {first_line})",
                    "give each offer its own id",
                )
            )
        first_index.setdefault(offer_id, index)
    return errors


def _shared_keywords(document: YamlDocument) -> list[PromptError]:
    # A keyword must name one offer; the catalog model refuses a shared one too,
    # but only the file knows on which line the second one sits.
    offers = document.data.get("offers") if isinstance(document.data, dict) else None
    if not isinstance(offers, list):
        return []
    errors = []
    owner: dict[tuple[str, ...], tuple[str, int, int]] = {}
    for index, item in enumerate(offers):
        if not isinstance(item, dict) or not isinstance(item.get("keywords"), list):
            continue
        for position, keyword in enumerate(item["keywords"]):
            words = phrase_words(keyword) if isinstance(keyword, str) else ()
            first = owner.setdefault(words, (str(item.get("id")), index, position))
            if words and first[1] != index:
                first_line = document.line_of(("offers", first[1], "keywords", first[2]))
                errors.append(
                    document.error(
                        ("offers", index, "keywords", position),
                        f"keyword '{keyword}' also names '{first[0]}' (line {first_line})",
                        "keep it on one offer; list a word several offers share under "
                        "offer_words in guardrails.yaml",
                    )
                )
    return errors
