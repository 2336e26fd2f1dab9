"""YAML loading that remembers where every value came from.

pydantic reports an error at a path such as ``sites.3.devices.0.address``; an
admin wants ``sites/kutai-timur.yaml:41:18``. We compose PyYAML nodes (which
carry marks) into plain Python data and keep a path -> position map.

Loading is bounded (see the ``MAX_*`` constants): a file that is too large, not a
regular file, not UTF-8, too deep, or that expands to too many values through aliases
is one ``file:line:col`` error at the place that crossed the bound, never a hang, a
MemoryError or a RecursionError in the daemon that reloads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from netmon.regular_file import FileRefused, describe_size, read_regular

try:  # libyaml's parser: the same events as PyYAML's, several times faster
    from yaml._yaml import CParser as _Parser

    _LIBYAML = True
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)

    _LIBYAML = False

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
    return _at(file, node.start_mark)


class _Mark(Protocol):
    """A place in the YAML text, as PyYAML and libyaml both report it (0-based)."""

    line: int
    column: int


def _at(file: str, mark: _Mark | None) -> Position:
    if mark is None:
        return Position(file, 1, 1)
    return Position(file, mark.line + 1, mark.column + 1)


# Bounds. A config load runs inside the daemon on SIGHUP: one file pushed by mistake (or
# on purpose) must cost an error message, never the monitor's memory or its reloads. The
# example province (68 devices) is about 2,100 values in 35 kB, some 31 values and 16
# bytes a value per device: a province of 10,000 devices is about 300,000 values in 5 MB.

#: the largest config file read (netmon.yaml, a site file, an SNMP profile)
MAX_FILE_BYTES = 16 * 1024 * 1024
#: the most YAML nodes (values, collections, keys) written in one file, counted while
#: parsing: ``[a,a,a,...]`` packs 8 million into 16 MiB
MAX_NODES = 250_000
#: the most values one file may expand to, each alias counted as the values it stands for:
#: a "billion laughs" of nested aliases is billions, and would hold a reload for hours
MAX_VALUES = 300_000
#: the most values aliases may stand for in one file: a real config shares a small block
#: (an SNMPv3 user) now and then; a "billion laughs" is stopped here, early and cheaply
MAX_ALIAS_VALUES = 50_000
#: the deepest nesting, the document's top level being level 1 and what a collection holds
#: (keys too) one level deeper than it; both as written and through aliases (a real config
#: nests about 8 deep; thousands exhaust the stack)
MAX_DEPTH = 100
#: all the files of one load together (netmon.yaml and every site file): each file's own
#: bounds do not bound a glob that matches hundreds of files
MAX_LOAD_BYTES = 64 * 1024 * 1024
#: all the values of one load together, as :data:`MAX_VALUES` counts them
MAX_LOAD_VALUES = 500_000


@dataclass(slots=True)
class LoadBudget:
    """What all the files of one load may still add up to; pass one budget to every
    :func:`load_marked` of a load (a file read alone has only its own bounds)."""

    bytes_left: int = MAX_LOAD_BYTES
    values_left: int = MAX_LOAD_VALUES


def _refused(position: Position, message: str, path: PathKey = ()) -> ConfigErrors:
    return ConfigErrors([ConfigError(position, dotted(path), message)])


class _BoundedComposer(Composer, Resolver, _Parser):
    """PyYAML's composer over libyaml's parser (pure Python's where libyaml is missing),
    counting nodes and nesting as it goes: the limits stop it before the memory or the
    stack runs out, at the node that crossed them."""

    def __init__(self, stream: str | bytes, file: str) -> None:
        _Parser.__init__(self, stream)
        Composer.__init__(self)
        Resolver.__init__(self)
        self.file = file
        self.nodes = 0
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)  # a node composed already
        event = self.peek_event()
        assert event is not None
        self.nodes += 1
        if self.nodes > MAX_NODES:
            message = f"more than {MAX_NODES} values in one file"
            raise _refused(_at(self.file, event.start_mark), message)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                message = f"nested more than {MAX_DEPTH} levels deep"
                raise _refused(_at(self.file, event.start_mark), message)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_STR = "tag:yaml.org,2002:str"


class _Builder:
    def __init__(self, file: str, most: int, over: str) -> None:
        self.file = file
        self.marks: dict[PathKey, Position] = {}
        self.key_marks: dict[PathKey, Position] = {}
        self.errors: list[ConfigError] = []
        self._constructor = SafeConstructor()
        self.count = 0
        #: the most values this file may build, and what to say past it
        self._most, self._over = most, over
        #: collections being built on the current path: an alias to one of them is a loop
        self._open: set[int] = set()
        #: nodes built once already (a second build is an alias's), and how deep in
        #: aliases the build is, and the values built through them
        self._built: set[int] = set()
        self._in_alias = 0
        self.aliased = 0

    def _refuse(self, node: yaml.Node, path: PathKey, message: str) -> ConfigErrors:
        return _refused(_pos(self.file, node), message, path)

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        again = id(node) in self._built
        self._built.add(id(node))
        self._in_alias += again
        try:
            return self._build(node, path)
        finally:
            self._in_alias -= again

    def _build(self, node: yaml.Node, path: PathKey) -> Any:
        self.count += 1
        if self.count > self._most:
            raise self._refuse(node, path, self._over)
        if self._in_alias:
            self.aliased += 1
            if self.aliased > MAX_ALIAS_VALUES:
                message = f"aliases expand to more than {MAX_ALIAS_VALUES} values"
                raise self._refuse(node, path, message)
        if len(path) >= MAX_DEPTH:  # as written, the composer stopped it: through aliases
            message = f"nested more than {MAX_DEPTH} levels deep (through aliases)"
            raise self._refuse(node, path, message)
        if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            self.marks[path] = _pos(self.file, node)
            return self._scalar(node, path)
        if id(node) in self._open:
            raise self._refuse(node, path, "an alias refers to a value that contains it")
        self._open.add(id(node))
        try:
            return self._collection(node, path)
        finally:
            self._open.discard(id(node))

    def _scalar(self, node: yaml.Node, path: PathKey) -> Any:
        """A scalar's value; a tag that cannot build one (``!!python/name``, ``!!int x``,
        an integer of 5,000 digits) is an error at the scalar."""
        if node.tag == _STR and isinstance(node, yaml.ScalarNode):
            return node.value  # most of a province's scalars: what construct_yaml_str does
        try:
            return self._constructor.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:
            problem = exc.problem or exc.context or "cannot build this value"
            raise self._refuse(node, path, f"YAML: {problem}") from None
        except (ValueError, TypeError, OverflowError) as exc:
            raise self._refuse(node, path, f"YAML: not a valid {_tag(node)}: {exc}") from None

    def _collection(self, node: yaml.MappingNode | yaml.SequenceNode, path: PathKey) -> Any:
        self.marks[path] = _pos(self.file, node)
        if isinstance(node, yaml.MappingNode):
            try:
                self._constructor.flatten_mapping(node)
            except yaml.MarkedYAMLError as exc:
                raise self._refuse(node, path, f"YAML: {exc.problem}") from None
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = (
                    self._scalar(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
                )
                if not isinstance(key, str | int | float | bool):
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


def _tag(node: yaml.Node) -> str:
    return str(node.tag).rsplit(":", 1)[-1]


def dotted(path: PathKey) -> str:
    return ".".join(str(p) for p in path)


def _line_col(data: bytes | str, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of an offset into the file's bytes or
    text: libyaml reports bytes, PyYAML characters."""
    newline: bytes | str = b"\n" if isinstance(data, bytes) else "\n"
    start = data.rfind(newline, 0, offset) + 1  # type: ignore[arg-type]
    line = data.count(newline, 0, offset) + 1  # type: ignore[arg-type]
    head = data[start:offset]
    width = len(head.decode("utf-8", "replace")) if isinstance(head, bytes) else len(head)
    return line, width + 1


def _read(path: Path, name: str, budget: LoadBudget | None) -> tuple[bytes, str]:
    """The file's bytes and text: a regular file within the bounds, in UTF-8."""
    at_start = Position(name, 1, 1)
    try:
        raw = read_regular(path, MAX_FILE_BYTES)
    except FileRefused as exc:
        raise _refused(at_start, f"cannot read: {exc}") from None
    if budget is not None:
        if len(raw) > budget.bytes_left:
            total = describe_size(MAX_LOAD_BYTES)
            raise _refused(at_start, f"not read: the config files add up to more than {total}")
        budget.bytes_left -= len(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(raw, exc.start)
        message = f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        raise _refused(Position(name, line, col), message) from None
    return raw, text


def _compose(raw: bytes, text: str, name: str) -> yaml.Node | None:
    """The file's node tree; a syntax error or a bound crossed is one error at its place."""
    source: bytes | str = raw if _LIBYAML else text
    try:
        composer = _BoundedComposer(source, name)  # PyYAML's reader checks characters here
        try:
            return composer.get_single_node()
        finally:
            composer.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _at(name, mark)
        problem = exc.problem or exc.context or "invalid YAML"
        raise _refused(where, f"YAML syntax: {problem}") from None
    except yaml.reader.ReaderError as exc:  # a NUL or another control character
        line, col = _line_col(source, exc.position)
        message = f"YAML: control character U+{exc.character:04X} is not allowed"
        raise _refused(Position(name, line, col), message) from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _refused(Position(name, 1, 1), f"YAML: {first}") from None


def load_marked(
    path: Path, display: str | None = None, budget: LoadBudget | None = None
) -> MarkedDoc:
    """Load one YAML file; raise :class:`ConfigErrors` for syntax or key problems.

    Bounded: a regular file of at most :data:`MAX_FILE_BYTES` in UTF-8, with at most
    :data:`MAX_NODES` nodes, :data:`MAX_VALUES` values once aliases are expanded and
    :data:`MAX_DEPTH` levels of nesting; with a ``budget``, also what the files of one
    load add up to. Each problem is one ``file:line:col`` error, never an exception of
    another kind.
    """
    name = display or str(path)
    raw, text = _read(path, name, budget)
    node = _compose(raw, text, name)
    del raw, text
    if node is None:
        return MarkedDoc(name, {}, {(): Position(name, 1, 1)}, {})
    most, over = MAX_VALUES, f"expands to more than {MAX_VALUES} values (nested aliases?)"
    if budget is not None and budget.values_left < most:
        most = budget.values_left
        over = f"the config files add up to more than {MAX_LOAD_VALUES} values"
    builder = _Builder(name, most, over)
    data = builder.build(node, ())
    if budget is not None:
        budget.values_left -= builder.count
    if builder.errors:
        raise ConfigErrors(builder.errors)
    return MarkedDoc(name, data, builder.marks, builder.key_marks)
