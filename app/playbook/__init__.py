"""What managers edit: prompt files, brand voice, offer catalog, guardrail list.

``prompts/`` is loaded as one ``Playbook``: every file validated (problems
reported as ``file:line: what is wrong; how to fix it``), prompts compiled to
render safely (customer text only ever in user messages), the set stamped
with a content hash, and reloaded by ``PlaybookSource`` when a file changes.
``prompts/playbooks.yaml`` may name several playbooks, each serving some
channels; ``PlaybookRouter`` gives each channel its own.
The models it fills (``OfferCatalog``, ``GuardrailPolicy``) belong to
``app.domain``, which reads a playbook through ``app.domain.ports.PlaybookView``
and never imports this package.
"""

from app.playbook._contract import CUSTOMER_INPUTS, PIPELINE_CONTRACTS, PIPELINE_PROMPTS
from app.playbook._errors import PromptError, PromptSetError
from app.playbook._files import MAPPING_FILE, content_version
from app.playbook._library import BRAND_VOICE_FILE, PromptLibrary, check_examples
from app.playbook._playbook import (
    DEFAULT_PLAYBOOK,
    Playbook,
    PlaybookSettings,
    PlaybookSource,
    load_playbook,
)
from app.playbook._routing import (
    PlaybookMap,
    PlaybookRouter,
    check_playbooks,
    load_mapping,
    load_named_playbook,
)
from app.playbook._template import PromptTemplate
from app.playbook._yaml import YamlDocument, parse_yaml
from app.playbook._yaml_files import (
    CATALOG_FILE,
    GUARDRAILS_FILE,
    load_guardrail_policy,
    load_offer_catalog,
)

__all__ = [
    "BRAND_VOICE_FILE",
    "CATALOG_FILE",
    "CUSTOMER_INPUTS",
    "DEFAULT_PLAYBOOK",
    "GUARDRAILS_FILE",
    "MAPPING_FILE",
    "PIPELINE_CONTRACTS",
    "PIPELINE_PROMPTS",
    "Playbook",
    "PlaybookMap",
    "PlaybookRouter",
    "PlaybookSettings",
    "PlaybookSource",
    "PromptError",
    "PromptLibrary",
    "PromptSetError",
    "PromptTemplate",
    "YamlDocument",
    "check_examples",
    "check_playbooks",
    "content_version",
    "load_guardrail_policy",
    "load_mapping",
    "load_named_playbook",
    "load_offer_catalog",
    "load_playbook",
    "parse_yaml",
]
