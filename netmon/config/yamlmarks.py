"""YAML loading that remembers where every value came from.

pydantic reports an error at a path such as ``sites.3.devices.0.address``; an
admin wants ``sites/kutai-timur.yaml:41:18``. We compose PyYAML nodes (which
carry marks) into plain Python data and keep a path -> position map.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

PathKey = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Position:
    file: str
    line: int  # 1-based
    col: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class ConfigError:
    """One problem in the configuration, printable as file:line:col: path: message."""

    position: Position
    path: str
    message: str
    #: a remark about the other errors: listed after them
    note: bool = False

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.position}: {where}{self.message}"


class ConfigErrors(Exception):
    """All problems found in one load; a load reports every error at once."""

    def __init__(self, errors: list[ConfigError]) -> None:
        # one missing default secret would otherwise be reported once per device
        unique = list(dict.fromkeys(errors))
        self.errors = sorted(
            unique, key=lambda e: (e.note, e.position.file, e.position.line, e.position.col)
        )
        super().__init__("\n".join(str(e) for e in self.errors))


@dataclass(slots=True)
class MarkedDoc:
    """A loaded YAML document with positions for each path inside it."""

    file: str
    data: Any
    marks: dict[PathKey, Position]
    #: positions of mapping keys (for "unknown key" errors, point at the key)
    key_marks: dict[PathKey, Position]

    def error(
        self, path: PathKey, message: str, *, key: bool = False, note: bool = False
    ) -> ConfigError:
        """An error at ``path`` in this document."""
        return ConfigError(self.position(path, key=key), dotted(path), message, note)

    def position(self, path: PathKey, *, key: bool = False) -> Position:
        """The position of the deepest known prefix of ``path``."""
        table = self.key_marks if key else self.marks
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefix in table:
                return table[prefix]
            if key and prefix in self.marks:
                return self.marks[prefix]
        return Position(self.file, 1, 1)


def _pos(file: str, node: yaml.Node) -> Position:
    return Position(file, node.start_mark.line + 1, node.start_mark.column + 1)


#: the most values one file may expand to: a province is a few thousand sites; a
#: "billion laughs" of nested aliases is billions, and would hold a reload for hours
MAX_VALUES = 200_000


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.marks: dict[PathKey, Position] = {}
        self.key_marks: dict[PathKey, Position] = {}
        self.errors: list[ConfigError] = []
        self._constructor = SafeConstructor()
        self._count = 0
        #: collections being built on the current path: an alias to one of them is a loop
        self._open: set[int] = set()

    def _refuse(self, node: yaml.Node, path: PathKey, message: str) -> ConfigErrors:
        return ConfigErrors([ConfigError(_pos(self.file, node), dotted(path), message)])

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self._count += 1
        if self._count > MAX_VALUES:
            message = f"expands to more than {MAX_VALUES} values (nested aliases?)"
            raise self._refuse(node, path, message)
        if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            self.marks[path] = _pos(self.file, node)
            return self._constructor.construct_object(node, deep=True)
        if id(node) in self._open:
            raise self._refuse(node, path, "an alias refers to a value that contains it")
        self._open.add(id(node))
        try:
            return self._collection(node, path)
        finally:
            self._open.discard(id(node))

    def _collection(self, node: yaml.MappingNode | yaml.SequenceNode, path: PathKey) -> Any:
        self.marks[path] = _pos(self.file, node)
        if isinstance(node, yaml.MappingNode):
            self._constructor.flatten_mapping(node)
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self._constructor.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | float | bool) or key is None:
                    self.errors.append(
                        ConfigError(_pos(self.file, key_node), dotted(path), "keys must be text")
                    )
                    continue
                skey = str(key)
                if skey in out:
                    self.errors.append(
                        ConfigError(
                            _pos(self.file, key_node),
                            dotted((*path, skey)),
                            "duplicate key (YAML would silently keep only the last one)",
                        )
                    )
                    continue
                self.key_marks[(*path, skey)] = _pos(self.file, key_node)
                out[skey] = self.build(value_node, (*path, skey))
            return out
        return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]


def dotted(path: PathKey) -> str:
    return ".".join(str(p) for p in path)


def load_marked(path: Path, display: str | None = None) -> MarkedDoc:
    """Load one YAML file; raise :class:`ConfigErrors` for syntax or key problems."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not valid UTF-8"
        raise ConfigErrors(
            [ConfigError(Position(name, 1, 1), "", f"cannot read: {reason}")]
        ) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigErrors(
            [ConfigError(Position(name, line, col), "", f"YAML syntax: {problem}")]
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigErrors([ConfigError(Position(name, 1, 1), "", f"YAML: {exc}")]) from None
    if node is None:
        return MarkedDoc(name, {}, {(): Position(name, 1, 1)}, {})
    builder = _Builder(name)
    try:
        data = builder.build(node, ())
    except yaml.YAMLError as exc:
        raise ConfigErrors([ConfigError(Position(name, 1, 1), "", f"YAML: {exc}")]) from None
    if builder.errors:
        raise ConfigErrors(builder.errors)
    return MarkedDoc(name, data, builder.marks, builder.key_marks)
