"""The one LLM client: AsyncOpenAI underneath, tenacity retries, structured output.

Everything outside this package imports from here; the ``_``-prefixed
modules are free to change shape.
"""

from app.llm._client import LLMClient
from app.llm._config import LLMConfig, StructuredOutputMode, UsageRecord
from app.llm._schema import strict_json_schema

__all__ = [
    "LLMClient",
    "LLMConfig",
    "StructuredOutputMode",
    "UsageRecord",
    "strict_json_schema",
]
