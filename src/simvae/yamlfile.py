"""YAML as simvae reads it (configs, grid files, a run's config.yaml): PyYAML's safe loader (no Python tags),
bounded, and strict about keys.

* Nesting deeper than MAX_DEPTH is refused before the composer recurses (20,000 `[` would otherwise end in a
  RecursionError after seconds).
* Aliases may not expand the document beyond MAX_VALUES values: a few hundred bytes of `&a [*b, *b, ...]`
  would otherwise become millions of values in the config and in every message that quotes it.
* A key given twice in one mapping (two `train:` sections, or `lr:` twice) is refused: PyYAML would keep the
  last silently.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

MAX_DEPTH = 64
MAX_VALUES = 100_000
MERGE = "tag:yaml.org,2002:merge"


class YamlLimitError(yaml.MarkedYAMLError):
    """A document that is valid YAML but not one simvae reads; `fix` says what to change."""

    def __init__(self, problem: str, mark: Any, fix: str) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.fix = fix


class BoundedLoader(yaml.SafeLoader):
    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise YamlLimitError(f"nesting deeper than {MAX_DEPTH} levels", self.peek_event().start_mark,
                                     "a config is a few levels of sections and values: remove the extra brackets")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def compose_document(self) -> Node:
        node = super().compose_document()
        expanded_size(node, {})
        return node

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == MERGE or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise YamlLimitError(f"the key {key!r} appears twice in one mapping", key_node.start_mark,
                                     "keep one of them (YAML would silently drop the first)")
            seen.add(key)
        return super().construct_mapping(node, deep)


def expanded_size(node: Node, sizes: dict[int, int]) -> int:
    """The number of values `node` holds once every alias is expanded (each node counted once per use)."""
    if id(node) in sizes:
        return sizes[id(node)]
    size = 1
    if isinstance(node, SequenceNode):
        size += sum(expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, MappingNode):
        size += sum(expanded_size(key, sizes) + expanded_size(value, sizes) for key, value in node.value)
    if size > MAX_VALUES:
        raise YamlLimitError(f"it expands to more than {MAX_VALUES:,} values (through aliases)", node.start_mark,
                             "write the values out instead of nesting aliases (*name) inside each other")
    sizes[id(node)] = size
    return size


def load_yaml(text: str) -> Any:
    """The YAML document `text`; yaml.YAMLError (YamlLimitError for the limits above) when it cannot be read."""
    return yaml.load(text, Loader=BoundedLoader)  # noqa: S506 (BoundedLoader is a SafeLoader)
