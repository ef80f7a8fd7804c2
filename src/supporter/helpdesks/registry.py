"""Connectors by name, each imported only when asked for, with its settings.

The convention every connector module follows (`supporter/helpdesks/<name>.py`):

    class Settings(HelpdeskSettings):      # from supporter.helpdesks.base
        subdomain: str                     # SUPPORTER_ZENDESK_SUBDOMAIN
        token: SecretStr                   # SUPPORTER_ZENDESK_TOKEN (or ..._TOKEN_FILE)
        webhook_secret: SecretStr | None = None

    def connect(settings: Settings) -> Zendesk:   # a `Helpdesk` (base.py); no I/O yet
        ...

- A field `name` is read from `SUPPORTER_<HELPDESK>_<NAME>` (upper case), or from
  `SUPPORTER_<HELPDESK>_<NAME>_FILE`, a file holding the value (a mounted secret;
  one trailing newline dropped), or from the config file's `[helpdesks.<helpdesk>]`
  table (`name = "…"` or `name_file = "…"`). The environment wins over the file.
- `url` is inherited: `SUPPORTER_<HELPDESK>_URL` points any connector at another base
  URL (a proxy, a simulator). Use it as the base of every request when it is set.
- Credentials are `SecretStr`; `.get_secret_value()` only where a request is built.
- `connect` raises `HelpdeskConfigError` for settings that cannot work together (say
  neither a token nor a user and password); missing or malformed fields are reported
  by the registry, naming the variable and never its value.
- `connect` opens nothing that needs closing before the first call; `aclose()` closes
  what the connector opened.

The names are those of `HELPDESKS`; a module not written yet is reported as "not
available" rather than as an import error.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

from pydantic import ValidationError

from supporter.domain.errors import SupporterError
from supporter.helpdesks.base import Helpdesk, HelpdeskSettings

HELPDESKS = ("zendesk", "freshdesk", "helpscout", "zammad", "chatwoot", "rt")

_FILE_SUFFIX = "_file"


class HelpdeskConfigError(SupporterError, ValueError):
    """A helpdesk that cannot be used as configured: unknown, not available, or a
    setting missing or malformed. The message says which, never a secret's value."""


def env_prefix(name: str) -> str:
    return f"SUPPORTER_{name.upper()}_"


def setting_values(
    name: str, environ: Mapping[str, str], config: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The helpdesk's settings by field name: the config file's table, then the
    environment over it, each `<field>_FILE` read into `<field>`."""
    prefix = env_prefix(name)
    from_file = {
        key.lower(): (f"[helpdesks.{name}] {key}", value) for key, value in (config or {}).items()
    }
    from_env = {
        key[len(prefix) :].lower(): (key, value)
        for key, value in environ.items()
        if key.startswith(prefix) and len(key) > len(prefix)
    }
    return {**_resolved(from_file), **_resolved(from_env)}


def _resolved(values: Mapping[str, tuple[str, Any]]) -> dict[str, Any]:
    """`<field>_file` entries read into `<field>`; both given is an error."""
    resolved: dict[str, Any] = {}
    for field, (where, value) in values.items():
        if not field.endswith(_FILE_SUFFIX):
            resolved.setdefault(field, value)
            continue
        target = field[: -len(_FILE_SUFFIX)]
        if target in values:
            raise HelpdeskConfigError(f"{values[target][0]} and {where} are both set: keep one")
        resolved[target] = _read_secret(where, str(value))
    return resolved


def _read_secret(where: str, path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise HelpdeskConfigError(
            f"{where}: cannot read {path}: {error.strerror or type(error).__name__}"
        ) from None
    return text.removesuffix("\n").removesuffix("\r")


def _module(name: str) -> Any:
    if name not in HELPDESKS:
        raise HelpdeskConfigError(f"unknown helpdesk {name!r}: use one of {', '.join(HELPDESKS)}")
    module_name = f"supporter.helpdesks.{name}"
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        raise HelpdeskConfigError(
            f"helpdesk {name} is not available in this version of Supporter"
        ) from None


def load_settings(
    name: str,
    environ: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
) -> HelpdeskSettings:
    """The settings of helpdesk `name` from `environ` (default: this process's) and the
    config file's `[helpdesks.<name>]` table. Raises `HelpdeskConfigError`."""
    module = _module(name)
    settings_type = cast(type[HelpdeskSettings], module.Settings)
    values = setting_values(name, os.environ if environ is None else environ, config)
    try:
        return settings_type.model_validate(values)
    except ValidationError as error:
        raise HelpdeskConfigError(_describe(name, error)) from None


def connect(
    name: str,
    environ: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
) -> Helpdesk:
    """The connector of helpdesk `name`, configured. Raises `HelpdeskConfigError`."""
    settings = load_settings(name, environ, config)
    factory = cast(Callable[[HelpdeskSettings], Helpdesk], _module(name).connect)
    return factory(settings)


def _describe(name: str, error: ValidationError) -> str:
    """Which variables are missing or malformed, without their values (a secret could
    be one)."""
    prefix = env_prefix(name)
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        field = "_".join(str(part) for part in item["loc"]).upper()
        problems.append(f"{prefix}{field}: {item['msg']}")
    return f"helpdesk {name} is not configured: " + "; ".join(problems)
