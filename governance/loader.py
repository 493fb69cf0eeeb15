"""Read a site file (YAML, docs/site-file.md) into the immutable ``Site``, reporting every problem.

Each problem names the file, the line and what to change. Lines come from the YAML node tree:
the document is composed once, every node's start line is recorded under its path
(``("devices", 3, "type")``), and pydantic error locations or reference checks are looked up in
that map, falling back to the nearest enclosing entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from governance.model import Site
from governance.schema import (
    SECTIONS,
    SUPPORTED_VERSION,
    TOP_LEVEL_KEYS,
    BuildingSpec,
    CommunitySpec,
    DepartmentSpec,
    DeviceSpec,
    GridSpec,
    OverrideSpec,
    SiteSpecs,
    Spec,
    StreetSpec,
    TeamSpec,
    build_site,
    site_document,
)
from governance.site_checks import Loc, ReferenceChecks, hint, quote_list
from sensors.profiles import PROFILES

_S = TypeVar("_S", bound=Spec)

try:  # libyaml composes the example site about five times faster, with the same marks
    from yaml import CSafeLoader as _YamlLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _YamlLoader  # type: ignore[assignment]

#: Aliases can make a small file expand enormously; ~30x the example site (~15k nodes).
MAX_EXPANDED_NODES = 500_000
MISSING_HINTS = {
    ("building", "grid"): "every building belongs to exactly one grid",
    ("grid", "team"): "every grid is served by exactly one team",
    ("grid", "community"): "every grid belongs to a community",
    ("team", "grid"): "every team serves exactly one grid",
    ("team", "leader"): 'a "1+2+N" team has one leader',
    ("device", "building"): "every device sits in a building",
    ("device", "type"): f"one of {', '.join(sorted(PROFILES))}",
}


@dataclass(frozen=True, slots=True)
class SiteProblem:
    """One thing wrong with a site file, where it is and what to do about it."""

    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.reason}"


class SiteError(Exception):
    """A site file could not be loaded; ``problems`` lists everything found, in file order."""

    def __init__(self, problems: Iterable[SiteProblem]) -> None:
        self.problems = tuple(sorted(problems, key=lambda p: p.line or 0))
        lines = [str(p) for p in self.problems]
        if len(lines) == 1:
            message = lines[0]
        else:
            message = f"{len(lines)} problems in the site file:\n  " + "\n  ".join(lines)
        super().__init__(message)


def load_site(path: Path) -> Site:
    """Read and validate the site file at ``path``; SiteError lists every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SiteError(
            [SiteProblem(str(path), None, f"cannot read the site file: {exc}")]
        ) from exc
    return parse_site(text, source=str(path))


def parse_site(text: str, *, source: str = "<string>") -> Site:
    """Validate site-file text; ``source`` names it in problems. SiteError lists every problem."""
    return _Reader(source).read(text)


def dump_site(site: Site) -> str:
    """A site as site-file YAML; ``parse_site(dump_site(site)) == site``."""
    return yaml.safe_dump(site_document(site), allow_unicode=True, sort_keys=False, width=100)


def _format_loc(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model that owns the last field of ``loc`` (to list its allowed fields)."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or not (
            isinstance(current, type) and issubclass(current, BaseModel)
        ):
            continue
        field = current.model_fields.get(part)
        if field is None:  # a key of a dict field, e.g. the fault code in ``faults``
            continue
        current = field.annotation
        while get_origin(current) is not None:  # list[X], dict[str, X], X | None
            args = [a for a in get_args(current) if a is not type(None)]
            current = args[-1]
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


class _Reader(ReferenceChecks):
    """One pass over one file: collects problems, then builds the site if there are none."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[Loc, int] = {}
        self.problems: list[SiteProblem] = []
        #: ids of entries that failed validation, so references to them don't report twice.
        self.broken: dict[str, set[str]] = {section: set() for section in SECTIONS}
        self.unreadable: set[str] = set()
        self._expanded = 0

    # Reporting ------------------------------------------------------------------------------

    def line_of(self, loc: Loc) -> int | None:
        """Line of the nearest enclosing node that has one."""
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)

    def report(self, loc: Loc, reason: str) -> None:
        self.problems.append(SiteProblem(self.source, self.line_of(loc), reason))

    def report_validation(
        self, exc: ValidationError, loc: Loc, label: str, noun: str, model: type[BaseModel]
    ) -> None:
        for error in exc.errors(include_url=False):
            where = tuple(error["loc"])
            field = _format_loc(where)
            kind, got = error["type"], error.get("input")
            if kind == "missing":
                hint = MISSING_HINTS.get((noun, field))
                reason = f"{label} is missing '{field}'" + (f" ({hint})" if hint else "")
            elif kind == "extra_forbidden":
                owner = _model_at(model, where)
                allowed = quote_list(owner.model_fields) if owner else "see docs/site-file.md"
                reason = f"{label} has unknown field '{field}' (allowed: {allowed})"
            elif kind == "string_pattern_mismatch":
                reason = (
                    f"{label}: {field} {got!r} is not a valid id "
                    "(1-64 letters, digits, '-' or '_'; ids appear in MQTT topics)"
                )
            elif kind == "string_type" and isinstance(got, int | float | bool):
                reason = f"{label}: {field} must be text, got {got!r}; put the value in quotes"
            elif kind == "model_type" and not where:
                reason = f"{label} must be a mapping of fields (key: value), got {got!r}"
            else:
                message = error["msg"].removeprefix("Value error, ")
                reason = f"{label}: {field or 'entry'}: {message} (got {got!r})"
            self.report(loc + where, reason)

    # Reading --------------------------------------------------------------------------------

    def read(self, text: str) -> Site:
        document = self.compose(text)
        if not self.problems:
            specs = self.check(document)
            if specs is not None and not self.problems:
                return build_site(specs)
        raise SiteError(self.problems)

    def compose(self, text: str) -> Any:
        loader = _YamlLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            self.record_lines(node)
            if self.problems:
                return None
            return loader.construct_document(node)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            detail = " ".join(p for p in (exc.context, exc.problem) if p)
            line = mark.line + 1 if mark is not None else None
            kind = (
                "YAML error"
                if isinstance(exc, yaml.constructor.ConstructorError)
                else "YAML syntax error"
            )
            self.problems.append(SiteProblem(self.source, line, f"{kind}: {detail}"))
        except yaml.YAMLError as exc:
            self.problems.append(SiteProblem(self.source, None, f"YAML error: {exc}"))
        except RecursionError:
            self.problems.append(SiteProblem(self.source, None, "the YAML is nested too deeply"))
        finally:
            loader.dispose()
        return None

    def record_lines(self, root: yaml.Node) -> None:
        """Fill ``self.lines`` and report duplicate keys, which YAML would silently overwrite."""
        self._expanded = 0
        self._walk(root, (), set())

    def _walk(self, node: yaml.Node, loc: Loc, ancestors: set[int]) -> bool:
        """Record one subtree; False once the walk must stop (cycle or alias bomb)."""
        self._expanded += 1
        if self._expanded > MAX_EXPANDED_NODES:
            self.report(loc, "the document expands to too many nodes (nested aliases?)")
            return False
        if id(node) in ancestors:
            self.report(loc, "an alias refers to a node that contains it (a cycle)")
            return False
        self.lines.setdefault(loc, node.start_mark.line + 1)
        ancestors.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return all(
                    self._walk(item, (*loc, index), ancestors)
                    for index, item in enumerate(node.value)
                )
            if isinstance(node, yaml.MappingNode):
                first_line: dict[str, int] = {}
                for key_node, value_node in node.value:
                    if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                        continue
                    key, line = key_node.value, key_node.start_mark.line + 1
                    if key in first_line:
                        reason = (
                            f"duplicate key '{key}' (first on line {first_line[key]}); "
                            "YAML would silently keep only the last one"
                        )
                        self.problems.append(SiteProblem(self.source, line, reason))
                    first_line.setdefault(key, line)
                    self.lines.setdefault((*loc, key), line)
                    if not self._walk(value_node, (*loc, key), ancestors):
                        return False
            return True
        finally:
            ancestors.discard(id(node))

    def validate(self, model: type[_S], data: Any, loc: Loc, label: str, noun: str) -> _S | None:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            self.report_validation(exc, loc, label, noun, model)
            return None

    def check(self, document: Any) -> SiteSpecs | None:
        if document is None:
            self.report(
                (), f"the site file is empty; it starts with 'version: {SUPPORTED_VERSION}'"
            )
            return None
        if not isinstance(document, dict):
            self.report((), "the top level must be a mapping of sections (version, street, ...)")
            return None
        for key in document:
            if key not in TOP_LEVEL_KEYS:
                self.report((key,), f"unknown section '{key}' ({hint(str(key), TOP_LEVEL_KEYS)})")
        version = document.get("version")
        if version is None:
            self.report((), f"missing 'version: {SUPPORTED_VERSION}'")
        elif version != SUPPORTED_VERSION or isinstance(version, bool):
            self.report(
                ("version",),
                f"unsupported version {version!r}; this release reads version {SUPPORTED_VERSION}",
            )
        street = None
        if "street" not in document:
            self.report((), "missing 'street' (id and name of the sub-district)")
        else:
            street = self.validate(StreetSpec, document["street"], ("street",), "street", "street")
        types = self.read_types(document.get("types"))
        communities = self.read_section(document, "communities", CommunitySpec)
        grids = self.read_section(document, "grids", GridSpec)
        teams = self.read_section(document, "teams", TeamSpec)
        departments = self.read_section(document, "departments", DepartmentSpec)
        buildings = self.read_section(document, "buildings", BuildingSpec)
        devices = self.read_section(document, "devices", DeviceSpec)
        self.check_hierarchy(communities, grids, teams, buildings)
        self.check_devices(devices, {b.id for _, b in buildings})
        self.check_departments(departments)
        if street is None:
            return None
        return SiteSpecs(
            street=street,
            types=types,
            communities=[s for _, s in communities],
            grids=[s for _, s in grids],
            teams=[s for _, s in teams],
            departments=[s for _, s in departments],
            buildings=[s for _, s in buildings],
            devices=[s for _, s in devices],
        )

    def read_types(self, raw: Any) -> dict[str, OverrideSpec]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.report(("types",), "'types' must map a device type to its overrides")
            return {}
        types: dict[str, OverrideSpec] = {}
        for name, value in raw.items():
            loc: Loc = ("types", name)
            profile = PROFILES.get(name)
            if profile is None:
                self.report(
                    loc, f"types: unknown device type '{name}' ({hint(str(name), PROFILES)})"
                )
                continue
            label = f"type '{name}'"
            spec = self.validate(OverrideSpec, {} if value is None else value, loc, label, "type")
            if spec is not None:
                self.check_overrides(spec, profile, loc, label)
                types[name] = spec
        return types

    def read_section(
        self, document: Mapping[str, Any], section: str, model: type[_S]
    ) -> list[tuple[int, _S]]:
        """Valid entries of a list section with their index; repeated ids are dropped."""
        raw = document.get(section)
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.report(
                (section,), f"'{section}' must be a list of entries, each starting with '- '"
            )
            self.unreadable.add(section)
            return []
        noun = SECTIONS[section][0]
        entries: list[tuple[int, _S]] = []
        first_line: dict[str, int | None] = {}
        for index, item in enumerate(raw):
            item_id = item.get("id") if isinstance(item, dict) else None
            label = f"{noun} '{item_id}'" if isinstance(item_id, str) else f"{noun} #{index + 1}"
            spec = self.validate(model, item, (section, index), label, noun)
            if spec is None:
                if isinstance(item_id, str):
                    self.broken[section].add(item_id)
                continue
            spec_id = getattr(spec, "id")  # noqa: B009 - every section entry has an id
            if spec_id in first_line:
                first = first_line[spec_id]
                self.report(
                    (section, index, "id"),
                    f"duplicate {noun} id '{spec_id}' (first defined on line {first})",
                )
                continue
            first_line[spec_id] = self.line_of((section, index, "id"))
            entries.append((index, spec))
        return entries
