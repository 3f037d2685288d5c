"""``PromptLibrary``: an immutable, validated snapshot of the ``prompts/`` directory.

Loading is all or nothing: any bad file (including one that fails to render
with its own examples) fails the whole load with every error listed, so the
caller keeps serving the last good library. Once loaded, nothing on disk is
read again; templates are compiled once and rendering is just Jinja.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from app.domain.ports import RenderedPrompt
from app.playbook._contract import PIPELINE_CONTRACTS, PIPELINE_PROMPTS, InputSpec
from app.playbook._environment import build_environment
from app.playbook._errors import PromptError, PromptSetError
from app.playbook._files import decode_text, hash_files, read_versioned_files
from app.playbook._parsing import PROMPT_SUFFIX, parse_prompt_file, parse_text_file
from app.playbook._template import PromptTemplate

BRAND_VOICE_FILE = "brand-voice.md"


@dataclass(frozen=True)
class PromptLibrary:
    directory: Path
    templates: Mapping[str, PromptTemplate]
    brand_voice: str
    version: str  # content hash of the bytes this library was built from

    @classmethod
    def load(
        cls, directory: Path, *, required: Collection[str] = PIPELINE_PROMPTS
    ) -> PromptLibrary:
        """Load every ``*.prompt.md`` and ``brand-voice.md`` in ``directory``.

        Raises ``PromptSetError`` listing every problem of every file, and
        every prompt in ``required`` that is missing.
        """
        if not directory.is_dir():
            raise PromptSetError([directory_not_found(directory)])
        return cls.from_files(directory, read_versioned_files(directory), required=required)

    @classmethod
    def from_files(
        cls,
        directory: Path,
        files: Mapping[str, bytes],
        *,
        required: Collection[str] = PIPELINE_PROMPTS,
        paths: Mapping[str, Path] | None = None,
    ) -> PromptLibrary:
        """The library in ``files`` (name -> bytes, as read from ``directory``).

        ``paths`` names where a file was read when not from ``directory`` (a
        playbook inherits files from ``prompts/``), so errors point at it.
        """
        paths = paths or {}
        env = build_environment()
        errors: list[PromptError] = []
        templates: dict[str, PromptTemplate] = {}
        for filename in sorted(files):
            if not filename.endswith(PROMPT_SUFFIX):
                continue
            path = paths.get(filename, directory / filename)
            try:
                template = parse_prompt_file(env, path, decode_text(path, files[filename]))
            except PromptError as exc:
                errors.append(exc)
            except PromptSetError as exc:
                errors.extend(exc.errors)
            else:
                templates[template.name] = template
                errors.extend(_example_errors(template))
        brand_voice = ""
        voice_path = paths.get(BRAND_VOICE_FILE, directory / BRAND_VOICE_FILE)
        if BRAND_VOICE_FILE not in files:
            errors.append(
                PromptError(
                    voice_path,
                    None,
                    "missing: the brand voice is required",
                    "restore the file from git, or write one with name: brand-voice",
                )
            )
        else:
            try:
                brand_voice = parse_text_file(
                    voice_path,
                    decode_text(voice_path, files[BRAND_VOICE_FILE]),
                    expected_name=BRAND_VOICE_FILE.removesuffix(".md"),
                )
            except PromptError as exc:
                errors.append(exc)
            except PromptSetError as exc:
                errors.extend(exc.errors)
        present = {name.removesuffix(PROMPT_SUFFIX) for name in files}
        for name in required:
            if name not in present:
                errors.append(
                    PromptError(
                        directory / f"{name}{PROMPT_SUFFIX}",
                        None,
                        "missing: the drafting pipeline needs this prompt",
                        "restore the file from git",
                    )
                )
        if errors:
            raise PromptSetError(errors)
        return cls(
            directory=directory,
            templates=MappingProxyType(templates),
            brand_voice=brand_voice,
            version=hash_files(files),
        )

    def get(self, name: str) -> PromptTemplate:
        template = self.templates.get(name)
        if template is None:
            have = ", ".join(sorted(self.templates)) or "none"
            raise PromptError(
                self.directory, None, f"no prompt named '{name}'", f"the prompts are {have}"
            )
        return template

    def render(
        self, name: str, *, system: Mapping[str, object], user: Mapping[str, object]
    ) -> RenderedPrompt:
        """Render prompt ``name``; ``brand_voice`` is filled in from this library if not given."""
        template = self.get(name)
        if "brand_voice" not in system and "brand_voice" in template.system_examples:
            system = {**system, "brand_voice": self.brand_voice}
        return template.render(system=system, user=user)


def check_examples(library: PromptLibrary) -> list[PromptError]:
    """Render every template with its own example inputs; the errors found, if any."""
    errors: list[PromptError] = []
    for name in sorted(library.templates):
        errors.extend(_example_errors(library.templates[name]))
    return errors


def _example_errors(template: PromptTemplate) -> list[PromptError]:
    """Render with the examples, then with every input that may be blank left blank.

    The second pass catches a template that only works while, say,
    ``guidance`` is set, though the pipeline often passes none.
    """
    system, user = dict(template.system_examples), dict(template.user_examples)
    variants = [(system, user, "its example inputs")]
    contract = PIPELINE_CONTRACTS.get(template.name)
    if contract is not None:
        blank_system = _blanked(system, contract.system)
        blank_user = _blanked(user, contract.user)
        if (blank_system, blank_user) != (system, user):
            variants.append((blank_system, blank_user, "optional inputs left empty"))
    for system_inputs, user_inputs, case in variants:
        try:
            template.render(system=system_inputs, user=user_inputs)
        except PromptError as exc:
            return [
                PromptError(exc.path, exc.line, f"{exc.problem} (rendering with {case})", exc.fix)
            ]
    return []


def _blanked(values: Mapping[str, object], specs: Mapping[str, InputSpec]) -> dict[str, object]:
    blanked = dict(values)
    for name, spec in specs.items():
        if name in blanked and spec.may_be_blank:
            blanked[name] = spec.blank
    return blanked


def directory_not_found(directory: Path) -> PromptError:
    return PromptError(
        directory,
        None,
        "prompts directory not found",
        "set TACTFUL_PROMPTS_DIR to the folder holding the prompt files",
    )
