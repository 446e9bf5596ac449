"""YAML with line numbers: a loader that refuses duplicate keys, and entries that report
the file, entry, key and line of every problem."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import yaml

from narrative_archive.config.checks import url_problem
from narrative_archive.config.model import ConfigError


class DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping holds one key twice (plain PyYAML keeps the last one silently)."""

    def __init__(self, key: Any, mark):
        super().__init__(None, None, f"duplicate key {key!r}", mark)
        self.key = key


class ConfigLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and leaves an impossible date a string.

    `since: 2017-13-01` then reaches the date check (which names the key and
    line) instead of failing inside PyYAML.
    """

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # keys a merge (<<) brings in may be overridden
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # an unhashable key: SafeLoader reports it
                    continue
                if duplicate:
                    raise DuplicateKeyError(key, key_node.start_mark)
        return super().construct_mapping(node, deep)

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


ConfigLoader.add_constructor("tag:yaml.org,2002:timestamp", ConfigLoader.construct_yaml_timestamp)


# libyaml's parser when PyYAML has it: a large narratives.yml then composes in
# milliseconds (every crawl subprocess pays it at start-up); ConfigLoader constructs.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _lines_of(node: yaml.MappingNode) -> dict[str, int]:
    """The line of every key of a mapping, nested keys (queries.ru, examples.ru.match)
    and list items (examples.ru.match[2]) included."""
    lines: dict[str, int] = {}
    _key_lines(node, "", lines)
    return lines


def _key_lines(node, prefix: str, lines: dict) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = f"{prefix}{key.value}"
            lines[name] = key.start_mark.line + 1
            _key_lines(value, name + ".", lines)
    elif isinstance(node, yaml.SequenceNode) and prefix:
        for position, item in enumerate(node.value):
            lines[f"{prefix[:-1]}[{position}]"] = item.start_mark.line + 1


class Entries:
    """The YAML list of a config file, each mapping with the line of each key."""

    def __init__(self, path: Path, kind: str, top_key: str | None = None,
                 top_keys: tuple[str, ...] = ()):
        self.path, self.kind = path, kind
        try:
            text = path.read_text(encoding="utf-8")
            root = yaml.compose(text, Loader=_LOADER)
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(path, None, f"cannot read: {error}") from error
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            raise ConfigError(
                path, None, f"invalid YAML: {getattr(error, 'problem', error)}",
                mark.line + 1 if mark else None,
            ) from error
        self.top: dict[str, Any] = {}
        if root is not None and top_key is not None:
            if not isinstance(root, yaml.MappingNode):
                raise ConfigError(path, None, f"expected a mapping with a '{top_key}' list",
                                  root.start_mark.line + 1)
            for key, value in root.value:
                line = key.start_mark.line + 1
                if key.value not in top_keys:
                    raise ConfigError(path, None, f"{key.value}: unknown key (expected one of: "
                                      f"{', '.join(top_keys)})", line)
                if key.value in self.top:
                    raise ConfigError(path, None, f"{key.value}: duplicate key", line)
                self.top[key.value] = value
            root = self.top.get(top_key)
        if root is None:
            self.nodes = []
        elif not isinstance(root, yaml.SequenceNode):
            raise ConfigError(path, None, "expected a list of entries", root.start_mark.line + 1)
        else:
            self.nodes = root.value

    def __iter__(self):
        for index, node in enumerate(self.nodes, 1):
            line = node.start_mark.line + 1
            if not isinstance(node, yaml.MappingNode):
                raise ConfigError(self.path, f"{self.kind} {index}", "expected a mapping", line)
            data = self.construct(node, self._label(index, node))
            yield index, line, data, _lines_of(node)

    def _label(self, index: int, node: yaml.MappingNode) -> str:
        for key, value in node.value:
            if key.value == "id" and isinstance(value, yaml.ScalarNode) and value.value:
                return f"{self.kind} {value.value!r}"
        return f"{self.kind} {index}"

    def construct(self, node, label: str | None) -> Any:
        """The Python value of a node, with errors (a duplicate key) naming the entry and line."""
        try:
            return ConfigLoader("").construct_document(node)
        except DuplicateKeyError as error:
            line = error.problem_mark.line + 1 if error.problem_mark else None
            raise ConfigError(self.path, label, f"{error.key}: duplicate key", line) from error
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            raise ConfigError(self.path, label, f"invalid YAML: {getattr(error, 'problem', error)}",
                              mark.line + 1 if mark else None) from error

    def top_value(self, key: str) -> tuple[Any, int | None, dict[str, int]]:
        """A top-level key's value, its line, and the lines of its keys when it is a mapping."""
        node = self.top.get(key)
        if node is None:
            return None, None, {}
        lines = _lines_of(node) if isinstance(node, yaml.MappingNode) else {}
        return self.construct(node, key), node.start_mark.line + 1, lines


class Entry:
    """Typed access to one entry's keys, raising ConfigError that names the key and line."""

    def __init__(self, path: Path, label: str, data: dict, lines: dict, line: int | None,
                 allowed):
        self.path, self.label, self.data, self.lines, self.line = path, label, data, lines, line
        for key in data:
            if key not in allowed:
                self.fail(key, f"unknown key (expected one of: {', '.join(allowed)})")

    def error(self, key: str | None, problem: str) -> ConfigError:
        prefix = f"{key}: " if key else ""
        return ConfigError(self.path, self.label, prefix + problem, self.lines.get(key, self.line))

    def fail(self, key: str | None, problem: str) -> NoReturn:
        raise self.error(key, problem)

    def get(self, key: str, kind=str, required: bool = False, default=None):
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                self.fail(key, "is required")
            return default
        if kind is str and isinstance(value, (int, float, date)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(key, f"expected {getattr(kind, '__name__', kind)}, got {value!r}")
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, f"expected a list of strings, got {value!r}")
        return tuple(value)

    def urls(self, key: str) -> tuple[str, ...]:
        values = self.strings(key)
        for value in values:
            problem = url_problem(value)
            if problem:
                self.fail(key, problem)
        return values


