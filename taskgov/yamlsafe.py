"""The one YAML reader for every file taskgov reads: policies, scenarios and settings.

PyYAML's ``safe_load`` is safe from code execution but not from poison: a 1 KB alias bomb
expands to gigabytes once anything walks the result, a self-referencing anchor makes a
cycle, 500 nested brackets exhaust Python's stack, a 5,000-digit integer or a
``2001-13-45`` timestamp raise ``ValueError`` from deep inside, and a duplicated key
silently wins over the first. This loader reads what Kubernetes' own YAML reader reads
(JSON-shaped data, YAML 1.1 scalars, merge keys) and turns every such input into an
:class:`~taskgov.errors.InputError` that says where the problem is, within bounds on file
size, nesting depth and alias expansion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode

from taskgov.errors import Fault, InputError


@dataclass(frozen=True, slots=True)
class YamlLimits:
    """Bounds on one YAML input, far above any real policy, scenario or settings file.

    Attributes:
        max_bytes: the size of the text.
        max_depth: how deeply sequences and mappings nest (a PyTorchJob needs about 12).
        max_alias_nodes: nodes that aliases add, counted as if each alias were a copy.
        max_integer_chars: the length of an integer literal (int64 has 19 digits).
    """

    max_bytes: int = 16 * 2**20
    max_depth: int = 64
    max_alias_nodes: int = 10_000
    max_integer_chars: int = 40


DEFAULT_LIMITS = YamlLimits()
MERGE_TAG = "tag:yaml.org,2002:merge"
# JSON's types plus YAML's merge key: what Kubernetes reads, and nothing that could surprise
# the code behind (sets, ordered pairs, bytes, timestamps that fail to construct).
_ALLOWED_TAGS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map",
}


class _BoundedConstructor(SafeConstructor):
    """SafeConstructor restricted to JSON-shaped values, refusing duplicate keys."""

    limits: YamlLimits = DEFAULT_LIMITS

    def construct_undefined(self, node: Node) -> Any:
        raise ConstructorError(
            None, None, f"tag {node.tag!r} is not supported (plain YAML only)", node.start_mark
        )

    def construct_yaml_int(self, node: ScalarNode) -> int:
        text = str(node.value)
        if len(text) > self.limits.max_integer_chars:
            raise ConstructorError(
                None,
                None,
                f"an integer of {len(text)} characters is out of range "
                f"(at most {self.limits.max_integer_chars})",
                node.start_mark,
            )
        return int(super().construct_yaml_int(node))

    def construct_yaml_float(self, node: ScalarNode) -> float:
        value = float(super().construct_yaml_float(node))
        if not math.isfinite(value):
            raise ConstructorError(
                None,
                None,
                f"{node.value!r} is not a finite number (JSON and the Kubernetes API have "
                "no infinity or NaN)",
                node.start_mark,
            )
        return value

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG or not isinstance(key_node, ScalarNode):
                continue
            key = self.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if key in first_line:
                raise ConstructorError(
                    None,
                    None,
                    f"key {key!r} is given twice in one mapping "
                    f"(first at line {first_line[key]}, again at line {line})",
                    key_node.start_mark,
                )
            first_line[key] = line
        return super().construct_mapping(node, deep)  # type: ignore[no-any-return]

    yaml_constructors = {
        **{
            tag: constructor
            for tag, constructor in SafeConstructor.yaml_constructors.items()
            if tag in _ALLOWED_TAGS
        },
        "tag:yaml.org,2002:int": construct_yaml_int,
        "tag:yaml.org,2002:float": construct_yaml_float,
        None: construct_undefined,
    }


class _BoundedResolver(yaml.resolver.Resolver):
    """YAML 1.1 scalars without timestamps: ``2024-05-01`` stays a string, as in kubectl."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    }


class _PythonParser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):
    """PyYAML's own scanner and parser, where libyaml is missing."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)


# libyaml scans and parses ten times faster; composing stays in Python so it can be bounded
# (the Composer comes first in the method order, ahead of libyaml's own composer).
def _fastest_parser() -> Any:
    try:
        from yaml._yaml import CParser
    except ImportError:
        return _PythonParser
    return CParser


_Parser: Any = _fastest_parser()


class _BoundedLoader(yaml.composer.Composer, _Parser, _BoundedConstructor, _BoundedResolver):  # type: ignore[misc]
    """A loader that counts nesting and alias expansion while it composes nodes."""

    def __init__(self, stream: str, limits: YamlLimits) -> None:
        _Parser.__init__(self, stream)
        yaml.composer.Composer.__init__(self)
        _BoundedConstructor.__init__(self)
        _BoundedResolver.__init__(self)
        self.limits = limits
        self._depth = 0
        self._alias_nodes = 0
        # Nodes in a subtree, counting each alias as a copy of what it names, by node id.
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            self._count_alias(self.peek_event())
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > self.limits.max_depth:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"nested deeper than {self.limits.max_depth} levels",
                self.peek_event().start_mark,  # type: ignore[arg-type]
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _count_alias(self, event: yaml.AliasEvent) -> None:
        target = self.anchors.get(event.anchor)
        if target is None:
            return  # PyYAML reports the undefined alias itself.
        if isinstance(target, CollectionNode) and target.end_mark is None:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"alias *{event.anchor} refers to the collection that contains it",
                event.start_mark,  # type: ignore[arg-type]
            )
        self._alias_nodes += self._size(target)
        if self._alias_nodes > self.limits.max_alias_nodes:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"aliases expand to more than {self.limits.max_alias_nodes} nodes",
                event.start_mark,  # type: ignore[arg-type]
            )

    def _size(self, root: Node) -> int:
        """Nodes under ``root`` with aliases expanded, without recursion, memoised."""
        stack: list[tuple[Node, bool]] = [(root, False)]
        while stack:
            node, children_done = stack.pop()
            if id(node) in self._sizes:
                continue
            children = _children(node)
            if children_done or not children:
                self._sizes[id(node)] = 1 + sum(self._sizes[id(child)] for child in children)
                continue
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in self._sizes)
        return self._sizes[id(root)]


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, CollectionNode):
        return list(node.value)
    return []


def _fault(source: str, error: yaml.YAMLError) -> Fault:
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(error, "problem", None) or str(error)
    return Fault(source, "", "", f"not valid YAML{where}: {problem}")


def load_all(text: str, source: str, limits: YamlLimits = DEFAULT_LIMITS) -> list[Any]:
    """Every document of a YAML stream, as plain dicts, lists and scalars.

    Args:
        text: the YAML text.
        source: where it came from, for the error (a path, ``<stdin>``).
        limits: the bounds to enforce.

    Returns:
        One value per document, ``None`` for an empty one.

    Raises:
        InputError: the text is too large, not YAML, or breaks a bound; the fault
            gives the line and column.
    """
    if len(text) > limits.max_bytes:
        raise InputError(
            [Fault(source, "", "", f"larger than {limits.max_bytes // 2**20} MiB of YAML")]
        )
    loader = _BoundedLoader(text, limits)
    try:
        documents = []
        while loader.check_data():
            documents.append(loader.get_data())
        return documents
    except yaml.YAMLError as error:
        raise InputError([_fault(source, error)]) from None
    except RecursionError:
        message = "not valid YAML: nested too deeply"
        raise InputError([Fault(source, "", "", message)]) from None
    finally:
        loader.dispose()


def load_one(text: str, source: str, limits: YamlLimits = DEFAULT_LIMITS) -> Any:
    """The single document of a YAML text (``None`` when empty).

    Raises:
        InputError: as :func:`load_all`, or the text holds more than one document.
    """
    documents = load_all(text, source, limits)
    if len(documents) > 1:
        raise InputError(
            [Fault(source, "", "", f"expected one YAML document, found {len(documents)}")]
        )
    return documents[0] if documents else None


def read_text(path: Path, limits: YamlLimits = DEFAULT_LIMITS) -> str:
    """The text of a YAML file, refusing to read past the size bound.

    Raises:
        InputError: the file cannot be read, is not UTF-8, or is too large.
    """
    try:
        with path.open("rb") as stream:
            data = stream.read(limits.max_bytes + 1)
    except OSError as error:
        raise InputError([Fault(str(path), "", "", f"cannot read: {error.strerror}")]) from None
    if len(data) > limits.max_bytes:
        raise InputError(
            [Fault(str(path), "", "", f"larger than {limits.max_bytes // 2**20} MiB of YAML")]
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            [Fault(str(path), "", "", f"not UTF-8 text (byte {error.start})")]
        ) from None
