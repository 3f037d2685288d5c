"""Prompt files: load, validate (``file:line`` errors), render safely, and version them.

Managers edit ``prompts/*.prompt.md`` in git. This package turns that
directory into an immutable ``PromptLibrary`` whose templates render to chat
messages in which customer text can only ever sit inside a user message.
Nothing here knows about Slack or the OpenAI SDK.
"""

from app.prompting._contract import CUSTOMER_INPUTS, PIPELINE_CONTRACTS, PIPELINE_PROMPTS
from app.prompting._environment import DATA_TAGS, bullets, delimit
from app.prompting._library import BRAND_VOICE_FILE, PromptLibrary, check_examples
from app.prompting._template import ModelParams, PromptTemplate, RenderedPrompt
from app.prompting._version import content_version
from app.prompting._yaml_lines import yaml_line_of
from app.prompting.errors import PromptError, PromptSetError

__all__ = [
    "BRAND_VOICE_FILE",
    "CUSTOMER_INPUTS",
    "DATA_TAGS",
    "PIPELINE_CONTRACTS",
    "PIPELINE_PROMPTS",
    "ModelParams",
    "PromptError",
    "PromptLibrary",
    "PromptSetError",
    "PromptTemplate",
    "RenderedPrompt",
    "bullets",
    "check_examples",
    "content_version",
    "delimit",
    "yaml_line_of",
]
