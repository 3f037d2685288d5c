"""One prompt file, parsed, checked and compiled: ``PromptTemplate``.

The body is split on its ``system:`` / ``user:`` marker lines *before* any
rendering, and each section is compiled as its own template. A system section
only ever sees system inputs; a user section sees system and user inputs. So
customer text, which always arrives as a user input, can neither reach a
system message nor open a new message: a marker line inside a variable's
value is just text inside the one message being rendered.
"""

from __future__ import annotations

import marshal
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from jinja2 import Template, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from app.domain.models import ChatMessage
from app.domain.ports import ModelParams, RenderedPrompt
from app.playbook._contract import CUSTOMER_INPUTS
from app.playbook._errors import PromptError

Role = Literal["system", "user"]

_MARKER = re.compile(r"^(system|user):[ \t]*$")
# Nodes that need a template loader: there is none, every file stands alone.
_UNSUPPORTED = (nodes.Include, nodes.Extends, nodes.Import, nodes.FromImport)


@dataclass(frozen=True)
class SectionSource:
    """A section's raw text, before compiling."""

    role: Role
    marker_line: int  # file line of the marker; the text starts on the next line
    text: str


# Rendered system sections kept per section: a system message depends only on the
# playbook's own inputs (tone, catalog, agent...), so a burst renders each once.
_RENDERED_PER_SECTION = 32


@dataclass(frozen=True)
class Section:
    role: Role
    marker_line: int
    template: Template
    code_filename: str
    variables: frozenset[str]
    first_use: Mapping[str, int]  # variable -> file line where it first appears
    # False when the text can vary with the same inputs (``random``, ``lipsum()``).
    repeatable: bool = True
    rendered: dict[bytes, str] = field(default_factory=dict, compare=False, repr=False)

    def render(self, context: Mapping[str, Any]) -> str:
        """The section's text for ``context``; a system section's is remembered."""
        # A user section carries customer text, new with every message: not kept.
        if self.role != "system" or not self.repeatable:
            return self.template.render(context)
        try:
            # Marshal writes only built-in values (str, int, float, bool, None, and
            # lists, tuples, dicts of them...), each with its own type code (True, 1
            # and 1.0 differ), and refuses the rest (a subclass, an Enum, an object):
            # equal bytes mean inputs that render the same.
            key = marshal.dumps({name: context[name] for name in sorted(self.variables)}, 2)
        except ValueError:
            return self.template.render(context)
        text = self.rendered.get(key)
        if text is None:
            text = self.template.render(context)
            if len(self.rendered) >= _RENDERED_PER_SECTION:
                self.rendered.clear()
            self.rendered[key] = text
        return text

    def failure_line(self, exc: BaseException) -> int:
        # Jinja rewrites tracebacks so template frames carry the template's own
        # line numbers; the last one of ours is where rendering broke.
        line = self.marker_line + 1
        tb: TracebackType | None = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self.code_filename:
                line = self.marker_line + tb.tb_lineno
            tb = tb.tb_next
        return line


def split_sections(
    path: Path, body: str, body_start_line: int
) -> tuple[list[SectionSource], list[PromptError]]:
    """Cut the body at marker lines; text before the first marker is an error."""
    sections: list[SectionSource] = []
    errors: list[PromptError] = []
    role: Role | None = None
    marker_line = 0
    buffer: list[str] = []
    stray_reported = False
    for offset, line in enumerate(body.split("\n")):
        file_line = body_start_line + offset
        match = _MARKER.match(line)
        if match:
            if role is not None:
                sections.append(SectionSource(role, marker_line, "\n".join(buffer)))
            role = "system" if match.group(1) == "system" else "user"
            marker_line, buffer = file_line, []
        elif role is None:
            if line.strip() and not stray_reported:
                stray_reported = True  # once is enough; keep going to find other errors
                errors.append(
                    PromptError(
                        path,
                        file_line,
                        "text before the first 'system:' or 'user:' line",
                        "start each section with one of those lines alone",
                    )
                )
        else:
            buffer.append(line)
    if role is not None:
        sections.append(SectionSource(role, marker_line, "\n".join(buffer)))
    for wanted in ("system", "user"):
        if not any(s.role == wanted for s in sections):
            errors.append(
                PromptError(
                    path,
                    body_start_line,
                    f"no '{wanted}:' section",
                    f"add a line '{wanted}:' followed by the {wanted} message",
                )
            )
    return sections, errors


def compile_section(
    env: SandboxedEnvironment,
    path: Path,
    source: SectionSource,
    *,
    system_inputs: frozenset[str],
    user_inputs: frozenset[str],
) -> tuple[Section | None, list[PromptError]]:
    """Compile one section and check every variable it uses is declared for its role."""
    try:
        ast = env.parse(source.text)
        # Also raises, for an unknown filter or test, so it belongs in the same try.
        variables = frozenset(meta.find_undeclared_variables(ast))
    except TemplateSyntaxError as exc:
        return None, [_syntax_error(path, source, exc)]
    errors = [
        PromptError(
            path,
            source.marker_line + node.lineno,
            "include/import/extends are not available in prompt files",
            "each file stands alone: copy the text you need into it",
        )
        for node in ast.find_all(_UNSUPPORTED)
    ]
    first_use: dict[str, int] = {}
    for node in ast.find_all(nodes.Name):
        if node.ctx == "load" and node.name in variables and node.name not in first_use:
            first_use[node.name] = source.marker_line + node.lineno
    allowed = system_inputs if source.role == "system" else system_inputs | user_inputs
    for name in sorted(variables - allowed, key=lambda n: first_use.get(n, 0)):
        line = first_use.get(name, source.marker_line + 1)
        if source.role == "system" and (name in user_inputs or name in CUSTOMER_INPUTS):
            problem = (
                f"'{name}' is a user input and cannot be used in a system section: "
                "customer text only ever goes in user messages"
            )
            fix = "use it below a 'user:' line"
        else:
            problem = f"unknown variable '{name}'"
            fix = _declared(source.role, system_inputs, user_inputs)
        errors.append(PromptError(path, line, problem, fix))
    if errors:
        return None, errors
    code_filename = f"{path}#{source.role}@{source.marker_line}"
    try:
        code = env.compile(source.text, name=code_filename, filename=code_filename)
    except TemplateSyntaxError as exc:  # compiling checks more than parsing does
        return None, [_syntax_error(path, source, exc)]
    template = env.template_class.from_code(env, code, env.make_globals(None))
    section = Section(
        role=source.role,
        marker_line=source.marker_line,
        template=template,
        code_filename=code_filename,
        variables=variables,
        first_use=first_use,
        repeatable=not (
            any(f.name == "random" for f in ast.find_all(nodes.Filter))
            or any(n.name == "lipsum" for n in ast.find_all(nodes.Name))
        ),
    )
    return section, []


class PromptTemplate:
    """One parsed, validated prompt file, ready to render many times."""

    def __init__(
        self,
        *,
        name: str,
        path: Path,
        description: str,
        params: ModelParams,
        version_notes: str | None,
        system_examples: Mapping[str, Any],
        user_examples: Mapping[str, Any],
        sections: tuple[Section, ...],
    ) -> None:
        self.name = name
        self.path = path
        self.description = description
        self.params = params
        self.version_notes = version_notes
        self.system_examples = system_examples
        self.user_examples = user_examples
        self.sections = sections
        # Never accepted from the system= side, even if a caller slips.
        self._user_only = CUSTOMER_INPUTS | frozenset(user_examples)

    @property
    def system_inputs(self) -> frozenset[str]:
        return frozenset(self.system_examples)

    @property
    def user_inputs(self) -> frozenset[str]:
        return frozenset(self.user_examples)

    def render(self, *, system: Mapping[str, object], user: Mapping[str, object]) -> RenderedPrompt:
        """Messages in file order; sections that render empty are left out.

        Raises ``PromptError`` naming this file when a variable is missing, a
        customer input is passed as a system input, or the template fails.
        """
        leaked = self._user_only.intersection(system)
        if leaked:
            raise PromptError(
                self.path,
                None,
                f"'{min(leaked)}' carries customer text and was passed as a system input",
                "pass it in user= so it stays in the user message",
            )
        both = {**system, **user}
        messages: list[ChatMessage] = []
        for section in self.sections:
            context = system if section.role == "system" else both
            missing = section.variables.difference(context)
            if missing:
                name = min(missing, key=lambda n: section.first_use.get(n, 0))
                raise PromptError(
                    self.path,
                    section.first_use.get(name),
                    f"missing variable '{name}' for the {section.role} section "
                    f"of prompt '{self.name}'",
                    "the code rendering this prompt must pass it",
                )
            try:
                text = section.render(context)
            except Exception as exc:  # any failure inside a manager's template is a prompt error
                raise PromptError(
                    self.path,
                    section.failure_line(exc),
                    f"rendering failed: {exc}",
                    "check this line of the template against the inputs it is given",
                ) from exc
            text = text.strip()
            if text:
                messages.append(ChatMessage(role=section.role, content=text))
        return RenderedPrompt(messages=messages, params=self.params)

    def __repr__(self) -> str:
        return f"PromptTemplate(name={self.name!r}, path={str(self.path)!r})"


def _syntax_error(path: Path, source: SectionSource, exc: TemplateSyntaxError) -> PromptError:
    return PromptError(
        path,
        source.marker_line + (exc.lineno or 1),
        f"template syntax error: {exc.message}",
        "check the {{ }} and {% %} on this line",
    )


def _declared(role: Role, system_inputs: frozenset[str], user_inputs: frozenset[str]) -> str:
    def names(found: frozenset[str]) -> str:
        return ", ".join(sorted(found)) or "nothing"

    if role == "system":
        return f"use a declared input (system: {names(system_inputs)})"
    return f"use a declared input (system: {names(system_inputs)}; user: {names(user_inputs)})"
