"""Load and validate the config file, reporting every problem at once with file:line:column.

Secrets are never written inline: a secret field holds a reference ``{secret: NAME}``,
resolved from the environment variable NAME, then from the file NAME in the secrets
directory. Resolved values are registered with the log redaction processor.
"""

from __future__ import annotations

import difflib
import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from billbridge import logs
from billbridge.errors import ConfigError
from config.model import (
    CONNECTION_TYPES,
    NIGHTLY_TYPE,
    SECTION_TYPES,
    BillbridgeConfig,
)
from config.yaml_positions import Path as KeyPath
from config.yaml_positions import Position, load_with_positions, position_of

UNSET_SECRET = "<unset secret>"  # noqa: S105 - a marker, not a credential


class RuntimeEnv(BaseSettings):
    """Process-level overrides from the environment (prefix BILLBRIDGE_)."""

    model_config = SettingsConfigDict(env_prefix="BILLBRIDGE_", extra="ignore")

    config: str | None = None
    state_url: str | None = None
    secrets_dir: str | None = None
    log_format: str | None = None
    log_level: str | None = None


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class ConfigProblems(ConfigError):
    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _import(spec: tuple[str, str]) -> type[BaseModel] | None:
    module, name = spec
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    return cls if isinstance(cls, type) and issubclass(cls, BaseModel) else None


class _Collector:
    def __init__(self, file: str, positions: dict[KeyPath, Position]) -> None:
        self.file = file
        self.positions = positions
        self.problems: list[ConfigProblem] = []
        #: secret fields written inline: their type errors would repeat the same problem
        self.inline: set[KeyPath] = set()

    def add_inline_secret(self, path: KeyPath) -> None:
        self.inline.add(tuple(path))
        self.add(
            path, "secrets must not be written inline; use {secret: ENV_VAR_NAME}", at_value=True
        )

    def add(self, path: KeyPath, message: str, *, at_value: bool = False) -> None:
        value_pos = self.positions.get(tuple(path)) if at_value else None
        pos = value_pos or position_of(self.positions, path)
        self.problems.append(
            ConfigProblem(
                self.file,
                pos.line if pos else None,
                pos.column if pos else None,
                _dotted(path),
                message,
            )
        )

    def from_validation(
        self, err: ValidationError, prefix: KeyPath, model: type[BaseModel], data: Any
    ) -> None:
        for item in err.errors():
            loc = tuple(
                p
                for p in item["loc"]
                # "[key]": pydantic's marker for a mapping key (e.g. a currency code)
                if not (isinstance(p, str) and p.startswith(("function-", "tagged-union", "[key]")))
            )
            path = (*prefix, *loc)
            if path in self.inline or (*prefix, *_clean_loc(data, loc)) in self.inline:
                continue
            kind = item["type"]
            if kind == "extra_forbidden":
                parent_fields = _fields_at(model, loc[:-1])
                hint = difflib.get_close_matches(str(loc[-1]), parent_fields, n=1)
                msg = f"unknown key {loc[-1]!r}"
                if hint:
                    msg += f" (did you mean {hint[0]!r}?)"
            elif kind == "missing":
                msg = "required field is missing"
            else:
                got = item.get("input")
                hidden = (
                    isinstance(got, dict | list | SecretStr)
                    or got is None
                    or _is_secret_field(model, loc)
                )
                # a secret field's value is never echoed, whatever type it was written as
                shown = "" if hidden else f" (got {logs.scrub_text(repr(got))})"
                msg = f"{item['msg']}{shown}"
                self.add(path, msg, at_value=True)
                continue
            self.add(path, msg)


def _clean_loc(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the parts pydantic adds for unions and validators (``function-after[...]``,
    discriminator tags such as ``m2m``) so the path matches the keys in the file."""
    out: list[Any] = []
    current = data
    for part in loc:
        if isinstance(part, str) and part.startswith(("function-", "tagged-union")):
            continue
        if isinstance(current, dict):
            if part in current:
                out.append(part)
                current = current[part]
                continue
            # a union tag (a value of this mapping, not a key): the next part addresses it
            if isinstance(part, str) and part in {
                str(v) for v in current.values() if isinstance(v, str)
            }:
                continue
            out.append(part)
            current = None
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            out.append(part)
            current = current[part]
        else:
            out.append(part)
            current = None
    return tuple(out)


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (
            isinstance(current, type) and issubclass(current, BaseModel)
        ):
            continue
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        ann = field.annotation
        current = ann if isinstance(ann, type) else getattr(ann, "__args__", (None,))[0]
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _is_secret_annotation(annotation: Any) -> bool:
    return "SecretStr" in str(annotation)


def _is_secret_field(model: type[BaseModel], loc: tuple[Any, ...]) -> bool:
    """Whether ``loc`` (relative to ``model``) addresses a secret: a SecretStr-typed field,
    or a key the log redaction treats as secret (password, client_secret, ..._token)."""
    named = [str(p) for p in loc if not isinstance(p, int)]
    if named:
        key = named[-1].lower()
        if key in logs.SECRET_KEYS or key.endswith(("_secret", "_password", "_token")):
            return True
    current: list[type[BaseModel]] = [model]
    for index, part in enumerate(loc):
        if isinstance(part, int):
            continue
        fields = [m.model_fields[str(part)] for m in current if str(part) in m.model_fields]
        if not fields:
            return False
        if index == len(loc) - 1 or all(isinstance(p, int) for p in loc[index + 1 :]):
            return any(_is_secret_annotation(f.annotation) for f in fields)
        current = [sub for f in fields for sub in _models_in(f.annotation)]
    return False


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """BaseModel classes inside an annotation (unions, Optional, Annotated, containers)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_models_in(arg))
    origin = getattr(annotation, "__origin__", None)
    if origin is not None and not found:
        found.extend(_models_in(origin))
    return found


def _resolve_secrets(node: Any, path: KeyPath, secrets_dir: Path | None, sink: _Collector) -> Any:
    """Replace every ``{secret: NAME}`` with the secret's value (as text)."""
    if isinstance(node, dict):
        if set(node) == {"secret"}:
            name = str(node["secret"])
            value = os.environ.get(name)
            if value is not None:
                # as a secrets file is read: a value set from a file or ``echo`` keeps its
                # newline, which the vendor never sees (and redaction would not match)
                value = value.strip()
            if value is None and secrets_dir is not None and (secrets_dir / name).is_file():
                value = (secrets_dir / name).read_text().strip()
            if value is None:
                sink.add(
                    path,
                    f"secret {name!r} is not set (environment variable or file "
                    f"in the secrets directory)",
                )
                # a stand-in keeps structural validation from repeating the same problem
                return SecretStr(UNSET_SECRET)
            logs.register_secret(value)
            return SecretStr(value)
        return {k: _resolve_secrets(v, (*path, k), secrets_dir, sink) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve_secrets(v, (*path, i), secrets_dir, sink) for i, v in enumerate(node)]
    return node


def _check_inline_secrets(
    raw: Any, model: type[BaseModel], path: KeyPath, sink: _Collector
) -> None:
    """A secret-typed field given as plain text in the file is refused, at any depth."""
    if not isinstance(raw, dict):
        return
    for name, field in model.model_fields.items():
        value = raw.get(field.alias or name, raw.get(name))
        if value is None:
            continue
        # anything but a {secret: NAME} mapping: text, and a number or a boolean too (YAML
        # reads an all-digit password as an int)
        if _is_secret_annotation(field.annotation) and not isinstance(value, dict):
            sink.add_inline_secret((*path, name))
            continue
        for sub in _models_in(field.annotation):
            if isinstance(value, dict):
                _check_inline_secrets(value, sub, (*path, name), sink)


def validate_config_file(
    path: str | os.PathLike[str], *, env: RuntimeEnv | None = None, check_files: bool = True
) -> tuple[BillbridgeConfig | None, list[ConfigProblem]]:
    """Validate ``path``; return the config (None on problems) and every problem found.

    ``check_files``: also that each files connection's mapping spec exists and loads
    (``config validate``); commands loading the config for other sections (the state URL,
    the report) do not refuse it for a connection they do not open, which says so itself."""
    env = env or RuntimeEnv()
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        return None, [ConfigProblem(file, None, None, "", f"cannot read: {exc.strerror}")]
    try:
        data, positions = load_with_positions(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [
            ConfigProblem(
                file,
                mark.line + 1 if mark else None,
                mark.column + 1 if mark else None,
                "",
                f"{problem}",
            )
        ]
    sink = _Collector(file, positions)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        sink.add((), "the config file must be a mapping of sections")
        return None, sink.problems

    secrets_dir = env.secrets_dir or data.get("secrets_dir")
    sdir = Path(secrets_dir) if secrets_dir else None
    if env.state_url:
        data.setdefault("state", {})
        if isinstance(data["state"], dict):
            data["state"]["url"] = env.state_url

    # inline secrets in the SMTP section
    smtp = (
        (data.get("reports") or {}).get("smtp") if isinstance(data.get("reports"), dict) else None
    )
    if (
        isinstance(smtp, dict)
        and smtp.get("password") is not None
        and not isinstance(smtp["password"], dict)
    ):
        sink.add_inline_secret(("reports", "smtp", "password"))
    resolved = _resolve_secrets(data, (), sdir, sink)
    job_spec_problems = _resolve_paths(resolved, Path(path).parent, sink, check_files=check_files)

    config: BillbridgeConfig | None = None
    try:
        config = BillbridgeConfig.model_validate(resolved)
    except ValidationError as err:
        sink.from_validation(err, (), BillbridgeConfig, resolved)

    _validate_connections(data, resolved, sink)
    _validate_sections(resolved, sink)
    _validate_reconciliations(resolved, sink)
    _validate_job_references(resolved, sink, job_spec_problems)
    if sink.problems:
        return None, sink.problems
    return config, []


def _validate_connections(raw: dict[str, Any], resolved: dict[str, Any], sink: _Collector) -> None:
    conns = resolved.get("connections") or {}
    if not isinstance(conns, dict):
        return
    for name, conn in conns.items():
        path: KeyPath = ("connections", name)
        if not isinstance(conn, dict):
            sink.add(path, "a connection must be a mapping")
            continue
        system = conn.get("system")
        if system not in CONNECTION_TYPES:
            hint = difflib.get_close_matches(str(system), list(CONNECTION_TYPES), n=1)
            sink.add(
                (*path, "system"),
                f"unknown system {system!r}; expected one of "
                f"{sorted(CONNECTION_TYPES)}" + (f" (did you mean {hint[0]!r}?)" if hint else ""),
            )
            continue
        model = _import(CONNECTION_TYPES[system])
        if model is None:
            sink.add((*path, "system"), f"the {system} connector is not installed")
            continue
        _check_inline_secrets(raw["connections"][name], model, path, sink)
        try:
            model.model_validate(conn)
        except ValidationError as err:
            sink.from_validation(err, path, model, conn)


def _validate_reconciliations(resolved: dict[str, Any], sink: _Collector) -> None:
    """What a reconciliation names must exist: its definition (a built-in, a suite
    calculator or a definitions file) and each side's connection, written CONNECTION/ENTITY.
    Found here, not half-way through ``reconcile run --all``."""
    from reconcile.builtin import BUILTIN_NAMES
    from reconcile.suite.configured import SUITE

    recons = resolved.get("reconciliations") or {}
    conns = resolved.get("connections") or {}
    if not isinstance(recons, dict) or not isinstance(conns, dict):
        return
    known = sorted({*BUILTIN_NAMES, *SUITE})
    for name, entry in recons.items():
        if not isinstance(entry, dict):
            continue
        definition = entry.get("definition")
        if (
            isinstance(definition, str)
            and definition not in known
            and not Path(definition).is_file()
        ):
            hint = difflib.get_close_matches(definition, known, n=1)
            sink.add(
                ("reconciliations", name, "definition"),
                f"{definition!r} is neither a built-in ({', '.join(known)}) nor a "
                "definitions file" + (f" (did you mean {hint[0]!r}?)" if hint else ""),
                at_value=True,
            )
        sides = entry.get("sides")
        if isinstance(definition, str):
            _validate_suite_entry(definition, entry, ("reconciliations", name), sink)
        for side, ref in sides.items() if isinstance(sides, dict) else ():
            connection, _, entity = str(ref).partition("/")
            where = ("reconciliations", name, "sides", side)
            if not entity:
                sink.add(where, f"{ref!r}: write it as CONNECTION/ENTITY", at_value=True)
            elif connection not in conns:
                hint = difflib.get_close_matches(connection, list(conns), n=1)
                sink.add(
                    where,
                    f"no connection named {connection!r}"
                    + (f" (did you mean {hint[0]!r}?)" if hint else ""),
                    at_value=True,
                )


def _no_such(what: str, name: Any, known: Any) -> str:
    hint = difflib.get_close_matches(str(name), [str(k) for k in known], n=1)
    return f"no {what} named {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")


def _entries(resolved: dict[str, Any], section: str) -> dict[Any, Any]:
    entries = resolved.get(section)
    return entries if isinstance(entries, dict) else {}


def _validate_job_references(
    resolved: dict[str, Any], sink: _Collector, spec_problems: dict[KeyPath, str]
) -> None:
    """Names a job, schedule or the nightly chain gives to another entry (a connection, a
    mapping spec, a job, a reconciliation) must exist: otherwise only ``sync plan`` or the
    nightly run finds out, without a line to fix."""
    conns = _entries(resolved, "connections")
    jobs = _entries(resolved, "jobs")
    for name, job in jobs.items():
        if not isinstance(job, dict):
            continue
        where: KeyPath = ("jobs", name)
        for role in ("source", "target"):
            ref = job.get(role)
            if not isinstance(ref, str) or not ref:  # missing: the job model reports it
                continue
            conn = conns.get(ref)
            if conn is None:
                sink.add((*where, role), _no_such("connection", ref, conns), at_value=True)
            elif role == "target" and isinstance(conn, dict):
                kind, system = job.get("target_kind"), conn.get("system")
                if isinstance(kind, str) and isinstance(system, str) and kind != system:
                    sink.add(
                        (*where, role),
                        f"connection {ref!r} is a {system} connection, but target_kind is {kind!r}",
                        at_value=True,
                    )
        for spec_key, problem in spec_problems.items():
            if spec_key[:2] == where:
                sink.add(spec_key, problem, at_value=True)
    for name in _entries(resolved, "schedules"):
        if name not in jobs:
            sink.add(
                ("schedules", name),
                _no_such("job", name, jobs) + ": a schedule is keyed by its job's name",
            )
    nightly = resolved.get("nightly")
    if isinstance(nightly, dict):
        recons = _entries(resolved, "reconciliations")
        for key, known, what in (
            ("sync_jobs", jobs, "job"),
            ("reconciliations", recons, "reconciliation"),
        ):
            refs = nightly.get(key)
            for index, ref in enumerate(refs if isinstance(refs, list) else ()):
                if isinstance(ref, str) and ref not in known:
                    sink.add(("nightly", key, index), _no_such(what, ref, known), at_value=True)


def find_config_file(ref: str, base: Path) -> Path | None:
    """A file (or folder) the config names: an absolute path as it is; a relative one in the
    config file's folder ``base`` first, then in the working directory (configs written
    for the working directory keep working). None when it is in neither."""
    path = Path(ref).expanduser()
    if path.is_absolute():
        return path if path.exists() else None
    for candidate in (base / path, Path.cwd() / path):
        if candidate.exists():
            return candidate.absolute()
    return None


def _resolve_paths(
    resolved: dict[str, Any], base: Path, sink: _Collector, *, check_files: bool
) -> dict[KeyPath, str]:
    """Relative file paths in the config resolve against the config file's folder first,
    then the working directory (:func:`find_config_file`), and are replaced by the absolute
    path found: files connections' ``path`` and ``spec``, jobs' ``mappings``, a
    reconciliation's definitions file, ``reports.smtp.ca_file``. A mapping spec that is in
    neither place (nor a shipped spec name) is a problem at its file:line:column; ``path``
    may not exist yet (exports arrive later), so it is only resolved. Connections' specs are
    checked only with ``check_files``; the jobs' mapping problems are returned (for
    :func:`_validate_job_references` to report in its order). ``state.url``,
    ``secrets_dir`` and ``reports.out_dir`` stay relative to the working directory."""
    for name, conn in _entries(resolved, "connections").items():
        if not isinstance(conn, dict) or conn.get("system") != "files":
            continue
        if isinstance(conn.get("path"), str) and conn["path"]:
            found = find_config_file(conn["path"], base)
            relative = not Path(conn["path"]).expanduser().is_absolute()
            if found is not None or relative:
                conn["path"] = str(found or (base / conn["path"]).absolute())
        if isinstance(conn.get("spec"), str):
            conn["spec"], problem = _mapping_spec_ref(conn["spec"], base, load=check_files)
            if problem and check_files:
                sink.add(("connections", name, "spec"), problem, at_value=True)
    job_problems: dict[KeyPath, str] = {}
    for name, job in _entries(resolved, "jobs").items():
        mappings = job.get("mappings") if isinstance(job, dict) else None
        if not isinstance(mappings, dict):
            continue
        for entity, ref in list(mappings.items()):
            if isinstance(ref, str):
                mappings[entity], problem = _mapping_spec_ref(ref, base, load=check_files)
                if problem:
                    job_problems[("jobs", name, "mappings", entity)] = problem
    for entry in _entries(resolved, "reconciliations").values():
        definition = entry.get("definition") if isinstance(entry, dict) else None
        if isinstance(definition, str) and Path(definition).suffix in (".yaml", ".yml"):
            found = find_config_file(definition, base)
            if found is not None:
                entry["definition"] = str(found)
    reports = resolved.get("reports")
    smtp = reports.get("smtp") if isinstance(reports, dict) else None
    if isinstance(smtp, dict) and isinstance(smtp.get("ca_file"), str):
        found = find_config_file(smtp["ca_file"], base)
        if found is not None:
            smtp["ca_file"] = str(found)
    return job_problems


#: a spec path as the example config wrote shipped specs (relative to a source checkout)
_SHIPPED_PREFIX = "mappings/specs/"


def _mapping_spec_ref(ref: str, base: Path, *, load: bool) -> tuple[str, str | None]:
    """A mapping spec reference resolved, and why it does not resolve or (with ``load``,
    as ``config validate`` asks) load (None: it does). A name without .yaml/.yml is a
    shipped spec (``exports/legacy_customers``, as ``billbridge mappings validate`` lists
    them); a path is looked up by :func:`find_config_file`, and ``mappings/specs/NAME.yaml``
    found in neither place is the shipped spec NAME (so the example config works outside a
    source checkout). Without ``load`` nothing is parsed: every command loads the config,
    and the job or connection that uses a spec loads it when it runs."""
    from mappings import SpecLoadError, load_spec
    from mappings.registry import SPECS_DIR, default_spec_names

    if Path(ref).suffix not in (".yaml", ".yml"):
        if (SPECS_DIR / f"{ref}.yaml").is_file():  # the listing only to suggest a name
            return ref, None
        return ref, _no_such("shipped mapping spec", ref, default_spec_names())
    found = find_config_file(ref, base)
    if found is None and ref.startswith(_SHIPPED_PREFIX):
        shipped = SPECS_DIR / ref.removeprefix(_SHIPPED_PREFIX)
        found = shipped if shipped.is_file() else None
    if found is None or not found.is_file():
        where = (
            "it does not exist"
            if Path(ref).expanduser().is_absolute()
            else f"looked in the config file's folder {base.absolute()}, then the working "
            f"directory {Path.cwd()}"
        )
        return ref, f"mapping spec file {ref!r} not found ({where})"
    if not load:
        return str(found), None
    try:
        load_spec(found)
    except SpecLoadError as exc:
        return str(found), (
            f"mapping spec {ref!r} does not load ({len(exc.problems)} problem(s), first: "
            f"{exc.problems[0]}); see billbridge mappings validate {ref}"
        )
    except ConfigError as exc:
        return str(found), str(exc)
    return str(found), None


def _validate_suite_entry(
    definition: str, entry: dict[str, Any], where: KeyPath, sink: _Collector
) -> None:
    """An AR suite calculator's ``options`` (by its own model) and, for a calculator that
    names the entities of its sides, the sides; other definitions take no options."""
    from reconcile.builtin import BUILTIN_NAMES
    from reconcile.suite.configured import SUITE

    options = entry.get("options")
    recon = SUITE.get(definition)
    if recon is None:
        if options and (definition in BUILTIN_NAMES or Path(definition).is_file()):
            sink.add(
                (*where, "options"),
                f"options are for the AR suite's calculators ({', '.join(sorted(SUITE))}); "
                f"{definition} takes none",
            )
        return
    if recon.options is None:
        if options:
            sink.add((*where, "options"), f"{definition} takes no options")
    elif options is None or isinstance(options, dict):  # else the model reported its type
        try:
            recon.options.model_validate(options or {})
        except ValidationError as err:
            sink.from_validation(err, (*where, "options"), recon.options, options)
    sides = entry.get("sides") or {}
    if recon.entities and isinstance(sides, dict):
        named = {str(k): str(v) for k, v in sides.items()}
        for side, problem in recon.side_problems(definition, named):
            sink.add((*where, "sides", side) if side else (*where, "sides"), problem)


def _validate_sections(resolved: dict[str, Any], sink: _Collector) -> None:
    for section, spec in SECTION_TYPES.items():
        entries = resolved.get(section) or {}
        if not isinstance(entries, dict) or not entries:
            continue
        model = _import(spec)
        if model is None:
            continue
        for name, entry in entries.items():
            payload = dict(entry) if isinstance(entry, dict) else entry
            if isinstance(payload, dict) and "name" in model.model_fields:
                payload.setdefault("name", name)
            try:
                model.model_validate(payload)
            except ValidationError as err:
                sink.from_validation(err, (section, name), model, payload)
    nightly = resolved.get("nightly")
    model = _import(NIGHTLY_TYPE)
    if nightly is not None and model is not None:
        try:
            model.model_validate(nightly)
        except ValidationError as err:
            sink.from_validation(err, ("nightly",), model, nightly)


def load_config(path: str | os.PathLike[str] | None = None) -> BillbridgeConfig:
    """Load the config named by ``path`` or BILLBRIDGE_CONFIG; defaults when neither is set."""
    env = RuntimeEnv()
    chosen = path or env.config
    if chosen is None:
        cfg = BillbridgeConfig()
        if env.state_url:
            cfg = cfg.model_copy(
                update={"state": cfg.state.model_copy(update={"url": env.state_url})}
            )
        return cfg
    config, problems = validate_config_file(chosen, env=env, check_files=False)
    if problems:
        raise ConfigProblems(problems)
    assert config is not None
    return config


def typed_section(config: BillbridgeConfig, section: str, name: str) -> BaseModel:
    """A validated entry of a dict-valued section (jobs, schedules) or a connection."""
    if section == "connections":
        raw = config.connections[name]
        model = _import(CONNECTION_TYPES[raw["system"]])
    else:
        raw = getattr(config, section)[name]
        model = _import(SECTION_TYPES[section])
        if isinstance(raw, dict) and model is not None and "name" in model.model_fields:
            raw = {"name": name, **raw}
    if model is None:
        raise ConfigError(f"{section}.{name}: its settings type is not installed")
    return model.model_validate(raw)


def json_schema() -> dict[str, Any]:
    """JSON Schema of the config file, with every installed connection type."""
    schema = BillbridgeConfig.model_json_schema()
    defs = schema.setdefault("$defs", {})
    variants = []
    for system, spec in CONNECTION_TYPES.items():
        model = _import(spec)
        if model is None:
            continue
        sub = model.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(sub.pop("$defs", {}))
        defs[model.__name__] = sub
        variants.append({"$ref": f"#/$defs/{model.__name__}"})
        del system
    if variants:
        schema["properties"]["connections"]["additionalProperties"] = {"oneOf": variants}
    for section, spec in SECTION_TYPES.items():
        model = _import(spec)
        if model is not None:
            sub = model.model_json_schema(ref_template="#/$defs/{model}")
            defs.update(sub.pop("$defs", {}))
            defs[model.__name__] = sub
            schema["properties"][section]["additionalProperties"] = {
                "$ref": f"#/$defs/{model.__name__}"
            }
    return schema
