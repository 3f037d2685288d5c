"""Which line of a YAML file a pydantic error path points at, for file:line messages."""

from __future__ import annotations

from collections.abc import Sequence

import yaml


def yaml_line_of(root: yaml.Node | None, loc: Sequence[str | int], *, offset: int, default: int) -> int:
    """File line of the deepest node ``loc`` reaches; ``default`` when not even the first exists.

    ``offset`` turns the YAML parser's 0-based line into a file line: 1 for a
    plain YAML file, 2 for front matter that follows a ``---`` line.
    """
    node = root
    line = default
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next((kv for kv in node.value if kv[0].value == str(part)), None)
            if found is None:
                break
            line = found[0].start_mark.line + offset
            node = found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + offset
        else:
            break
    return line
