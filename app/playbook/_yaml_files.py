"""``offers.yaml`` and ``guardrails.yaml``: read with line numbers, validated into domain models.

The models and their rules (authority limits, patterns that must compile)
belong to ``app.domain``; this module only turns a file into one of them, or
into ``PromptSetError`` naming the file and line of every problem.
"""

from __future__ import annotations

from pathlib import Path

from app.domain.guardrails import GuardrailPolicy
from app.domain.offers import OfferCatalog
from app.playbook._errors import PromptError, PromptSetError
from app.playbook._files import decode_text, read_bytes
from app.playbook._yaml import YamlDocument, parse_yaml

CATALOG_FILE = "offers.yaml"
GUARDRAILS_FILE = "guardrails.yaml"


def load_offer_catalog(path: Path, data: bytes | None = None) -> OfferCatalog:
    """The catalog in ``path`` (or in ``data``, its bytes already read)."""
    document = _read(path, data)
    duplicates = _duplicate_offer_ids(document)
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
