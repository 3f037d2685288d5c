"""From a file's text to a ``PromptTemplate`` (or the brand voice), with every error found.

Front matter first, then the contract with the pipeline, then each section.
Errors are gathered rather than raised one by one, so a manager fixing a
file sees all of its problems in one ``tactful prompts check`` run.
"""

from __future__ import annotations

from pathlib import Path

from jinja2.sandbox import SandboxedEnvironment

from app.domain.ports import ModelParams
from app.playbook._contract import CUSTOMER_INPUTS, PIPELINE_CONTRACTS
from app.playbook._errors import PromptError, PromptSetError
from app.playbook._front_matter import (
    DeclaredInputs,
    PromptFrontMatter,
    SplitFile,
    TextFrontMatter,
    check_name,
    check_variable_names,
    split_front_matter,
)
from app.playbook._template import PromptTemplate, Section, compile_section, split_sections

PROMPT_SUFFIX = ".prompt.md"


def parse_prompt_file(env: SandboxedEnvironment, path: Path, text: str) -> PromptTemplate:
    """Parse and compile one ``<name>.prompt.md``; raise ``PromptSetError`` with all its errors."""
    split = split_front_matter(path, text)
    front = split.front.validate(PromptFrontMatter)
    errors: list[PromptError] = []
    try:
        check_name(path, split, front.name, path.name.removesuffix(PROMPT_SUFFIX))
    except PromptError as exc:
        errors.append(exc)
    errors.extend(check_variable_names(path, split, front.inputs))
    errors.extend(_check_contract(path, split, front.name, front.inputs))

    sources, section_errors = split_sections(path, split.body, split.body_start_line)
    errors.extend(section_errors)
    system_inputs = frozenset(front.inputs.system)
    user_inputs = frozenset(front.inputs.user)
    sections: list[Section] = []
    for source in sources:
        section, found = compile_section(
            env, path, source, system_inputs=system_inputs, user_inputs=user_inputs
        )
        errors.extend(found)
        if section is not None:
            sections.append(section)
    if errors:
        raise PromptSetError(errors)
    return PromptTemplate(
        name=front.name,
        path=path,
        description=front.description,
        params=ModelParams(
            temperature=front.model.temperature,
            max_tokens=front.model.max_tokens,
            model=front.model.name,
        ),
        version_notes=front.version_notes,
        system_examples=dict(front.inputs.system),
        user_examples=dict(front.inputs.user),
        sections=tuple(sections),
    )


def parse_text_file(path: Path, text: str, *, expected_name: str) -> str:
    """The body of a plain text file with front matter (``brand-voice.md``), trimmed."""
    split = split_front_matter(path, text)
    front = split.front.validate(TextFrontMatter)
    check_name(path, split, front.name, expected_name)
    body = split.body.strip()
    if not body:
        raise PromptError(
            path,
            split.body_start_line,
            "the text after the front matter is empty",
            "write the text below the closing '---'",
        )
    return body


def _check_contract(
    path: Path, split: SplitFile, name: str, inputs: DeclaredInputs
) -> list[PromptError]:
    """Declarations that would break the pipeline, or let customer text into a system message."""
    errors: list[PromptError] = []
    for variable in sorted(inputs.system.keys() & CUSTOMER_INPUTS):
        errors.append(
            PromptError(
                path,
                split.line_of(["inputs", "system", variable]),
                f"'{variable}' carries customer text and can only be declared under inputs.user",
                "move it there",
            )
        )
    contract = PIPELINE_CONTRACTS.get(name)
    if contract is None:
        return errors
    for role, declared in (("system", inputs.system), ("user", inputs.user)):
        other = "user" if role == "system" else "system"
        provided = contract.system if role == "system" else contract.user
        elsewhere = contract.user if role == "system" else contract.system
        for variable, example in declared.items():
            line = split.line_of(["inputs", role, variable])
            spec = provided.get(variable)
            if spec is None:
                if variable in CUSTOMER_INPUTS and role == "system":
                    continue  # already reported above, with the clearer message
                if variable in elsewhere:
                    problem = f"the pipeline passes '{variable}' as a {other} input"
                    fix = f"declare it under inputs.{other}"
                else:
                    problem = f"the pipeline does not pass '{variable}' to the '{name}' prompt"
                    passed = ", ".join(sorted(provided)) or "none"
                    fix = f"remove it; the {role} inputs passed are {passed}"
                errors.append(PromptError(path, line, problem, fix))
            elif not spec.accepts(example):
                errors.append(
                    PromptError(
                        path,
                        line,
                        f"the example for '{variable}' should be {spec.describe()}, "
                        "the shape the pipeline passes",
                        "change the example value",
                    )
                )
    return errors
