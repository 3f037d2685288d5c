"""The offer catalog a manager edits (``prompts/offers.yaml``) and each agent's authority.

An ``Offer`` is something an agent may propose on their own, up to ``max`` in
its ``unit``; anything above needs a manager.  The drafting prompt sees the
catalog through ``OfferCatalog.for_prompt``; the guardrails check every offer
the model proposes against it, so the catalog, not the model, decides.

``YamlSource`` keeps a manager-edited YAML file together with its node tree
so that any problem, a YAML slip, a pydantic error or a rule of our own, is
reported as ``PromptError(file, line, message)``.  The guardrail list uses it
too.
"""

from __future__ import annotations

import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from app.prompting import yaml_line_of
from app.prompting.errors import PromptError

__all__ = ["Offer", "OfferCatalog", "OfferUnit", "YamlSource"]

M = TypeVar("M", bound=BaseModel)
OfferUnit = Literal["amount", "percent", "none"]


class Offer(BaseModel):
    """One thing an agent may offer, and how far they may go without a manager."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="snake_case, unique")
    label: str = Field(min_length=1)
    fits: str = Field(min_length=1, description="when this offer is the right one")
    why: str = Field(min_length=1, description="default reason it helps the customer")
    unit: OfferUnit
    max: float | None = Field(default=None, ge=0, description="authority limit; 0 = manager only")
    escalate_above: str | None = None

    @model_validator(mode="after")
    def _limit_matches_unit(self) -> Offer:
        if self.unit == "none" and self.max is not None:
            raise ValueError(
                f"offer '{self.id}' has unit 'none' but a max; remove max or set unit to "
                "amount or percent"
            )
        if self.unit != "none" and self.max is None:
            raise ValueError(f"offer '{self.id}' has unit '{self.unit}' and needs a max")
        if self.unit == "percent" and self.max is not None and self.max > 100:
            raise ValueError(f"offer '{self.id}': a percent max cannot exceed 100")
        return self

    def limit_text(self, currency: str) -> str:
        if self.max is None:
            return "no amount"
        if self.max == 0:
            return "only with a manager's approval"
        if self.unit == "percent":
            return f"up to {self.max:g}%"
        return f"up to {self.max:g} {currency}"

    def authority_problem(self, amount: float | None, currency: str = "") -> str | None:
        """Why ``amount`` is beyond what an agent may grant alone, or None when it is fine."""
        if amount is None or (self.unit == "none" and amount == 0):
            return "only a manager can grant it" if self.max == 0 else None
        if not math.isfinite(amount) or amount < 0:
            return f"the amount {amount:g} is not a valid amount"
        if self.unit == "none":
            return f"it carries no amount, yet {amount:g} was attached"
        if self.max is not None and amount > self.max:
            shown = f"{amount:g}%" if self.unit == "percent" else f"{amount:g}"
            return f"{shown} is above the agent limit ({self.limit_text(currency).strip()})"
        return None


class OfferCatalog(BaseModel):
    """Every offer an agent may make, in one currency."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD")
    offers: list[Offer] = Field(min_length=1)
    _by_id: dict[str, Offer] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _ids_are_unique(self) -> OfferCatalog:
        seen: set[str] = set()
        for offer in self.offers:
            if offer.id in seen:
                raise ValueError(f"duplicate offer id '{offer.id}'")
            seen.add(offer.id)
        return self

    def model_post_init(self, context: Any, /) -> None:
        self._by_id = {offer.id: offer for offer in self.offers}

    def get(self, offer_id: str) -> Offer | None:
        return self._by_id.get(offer_id)

    def __getitem__(self, offer_id: str) -> Offer:
        return self._by_id[offer_id]

    def __contains__(self, offer_id: object) -> bool:
        return offer_id in self._by_id

    def for_prompt(self) -> list[dict[str, str]]:
        """The catalog as the drafting prompt shows it: id, label, fits, limit."""
        return [
            {"id": o.id, "label": o.label, "fits": o.fits, "limit": o.limit_text(self.currency)}
            for o in self.offers
        ]

    def authority_summary(self) -> str:
        """One line on what an agent may grant alone, for the triage prompt."""
        limited = [
            f"{o.id} {o.limit_text(self.currency)}" for o in self.offers if o.max is not None
        ]
        free = [o.id for o in self.offers if o.max is None]
        parts = []
        if limited:
            parts.append("Agents may grant alone: " + ", ".join(limited))
        if free:
            parts.append("no amount attached: " + ", ".join(free))
        return "; ".join(parts) + ". Anything beyond needs a manager."

    @classmethod
    def load(cls, path: Path) -> OfferCatalog:
        source = YamlSource.read(path)
        offers = source.data.get("offers") if isinstance(source.data, dict) else None
        if isinstance(offers, list):
            first_index: dict[str, int] = {}
            for index, item in enumerate(offers):
                offer_id = item.get("id") if isinstance(item, dict) else None
                if not isinstance(offer_id, str):
                    continue
                if offer_id in first_index:
                    first_line = source.line_of(("offers", first_index[offer_id], "id"))
                    raise source.error(
                        ("offers", index, "id"),
                        f"duplicate offer id '{offer_id}' (first defined on line {first_line}); "
                        "give each offer its own id",
                    )
                first_index[offer_id] = index
        return source.validate(cls)


# --- manager-edited YAML with line numbers ------------------------------------------


@dataclass(frozen=True)
class YamlSource:
    """A parsed YAML file that still knows on which line each key and item sits."""

    path: Path
    data: Any
    root: yaml.Node | None

    @classmethod
    def read(cls, path: Path) -> YamlSource:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PromptError(path, None, f"cannot read the file: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise PromptError(path, None, "the file is not UTF-8 text; save it as UTF-8") from exc
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or exc.context or "not valid YAML"
            line = mark.line + 1 if mark else None
            raise PromptError(path, line, f"YAML error: {problem}") from exc
        except yaml.YAMLError as exc:
            raise PromptError(path, None, f"YAML error: {exc}") from exc
        finally:
            loader.dispose()
        if root is not None:
            _reject_duplicate_keys(path, root)
        return cls(path, data, root)

    def line_of(self, loc: tuple[int | str, ...]) -> int:
        """The line of the deepest node that ``loc`` (a pydantic error path) reaches."""
        if self.root is None:
            return 1
        return yaml_line_of(self.root, loc, offset=1, default=self.root.start_mark.line + 1)

    def error(self, loc: tuple[int | str, ...], message: str) -> PromptError:
        return PromptError(self.path, self.line_of(loc), message)

    def validate(self, model: type[M]) -> M:
        if not isinstance(self.data, dict):
            fields = ", ".join(model.model_fields)
            raise self.error((), f"expected a mapping with the keys {fields}")
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            problems = sorted(exc.errors(), key=lambda e: self.line_of(tuple(e["loc"])))
            first = problems[0]
            loc = tuple(first["loc"])
            message = _describe(model, loc, first)
            if len(problems) > 1:
                message += f" (and {len(problems) - 1} more problem(s))"
            raise self.error(loc, message) from exc


def _reject_duplicate_keys(path: Path, node: yaml.Node) -> None:
    # PyYAML silently keeps the last of two equal keys; a manager would never
    # find out why their first value is ignored.
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                raise PromptError(path, key.start_mark.line + 1, f"duplicate key '{key.value}'")
            seen.add(key.value)
            _reject_duplicate_keys(path, value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(path, item)


def _describe(model: type[BaseModel], loc: tuple[int | str, ...], error: Any) -> str:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    prefix = f"{where}: " if where else ""
    kind = error["type"]
    if kind == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        allowed = ", ".join(owner.model_fields) if owner else "check the spelling"
        return f"{prefix}unknown key '{loc[-1]}' (allowed: {allowed})"
    if kind == "missing":
        return f"{prefix}missing required key '{loc[-1]}'"
    message = str(error["msg"]).removeprefix("Value error, ")
    value = error.get("input")
    if isinstance(value, str | int | float | bool) and kind != "value_error":
        message += f" (got {value!r})"
    return prefix + message


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The pydantic model that a path inside ``model`` points at, for error messages."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else None
        elif isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            current = field.annotation if field else None
        else:
            return None
        if isinstance(current, types.UnionType):
            current = next((a for a in typing.get_args(current) if a is not type(None)), None)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None
