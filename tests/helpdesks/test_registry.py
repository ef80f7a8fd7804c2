"""Connectors by name: settings from the environment, secret files and the config
file; a connector not written yet, an unknown name and bad settings are clear errors
that never show a secret."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from supporter.helpdesks import registry
from supporter.helpdesks.base import HelpdeskSettings
from supporter.helpdesks.registry import HelpdeskConfigError

SECRET = "s3cr3t-token-value"


class DemoSettings(HelpdeskSettings):
    subdomain: str
    token: SecretStr
    per_minute: int = 100


class DemoHelpdesk:
    name = "chatwoot"

    def __init__(self, settings: DemoSettings) -> None:
        self.settings = settings


@pytest.fixture
def demo_module() -> Iterator[None]:
    """A connector module following the convention, standing in for chatwoot.py."""
    module = types.ModuleType("supporter.helpdesks.chatwoot")
    module.Settings = DemoSettings  # type: ignore[attr-defined]
    module.connect = DemoHelpdesk  # type: ignore[attr-defined]
    saved = sys.modules.get(module.__name__)
    sys.modules[module.__name__] = module
    yield
    if saved is None:
        del sys.modules[module.__name__]
    else:
        sys.modules[module.__name__] = saved


def test_settings_come_from_the_environment_with_the_helpdesks_prefix(demo_module: None) -> None:
    connector = registry.connect(
        "chatwoot",
        {
            "SUPPORTER_CHATWOOT_SUBDOMAIN": "acme",
            "SUPPORTER_CHATWOOT_TOKEN": SECRET,
            "SUPPORTER_CHATWOOT_URL": "http://127.0.0.1:9/",
            "SUPPORTER_ZENDESK_SUBDOMAIN": "other",
        },
    )
    assert isinstance(connector, DemoHelpdesk)
    settings = connector.settings
    assert settings.subdomain == "acme"
    assert settings.token.get_secret_value() == SECRET
    assert settings.url == "http://127.0.0.1:9/"
    assert SECRET not in repr(settings)


def test_a_secret_file_and_the_config_file_under_the_environment(
    demo_module: None, tmp_path: Path
) -> None:
    secret = tmp_path / "token"
    secret.write_text(SECRET + "\n")
    settings = registry.load_settings(
        "chatwoot",
        {"SUPPORTER_CHATWOOT_TOKEN_FILE": str(secret), "SUPPORTER_CHATWOOT_PER_MINUTE": "7"},
        {"subdomain": "from-file", "per_minute": 50, "token": "overridden"},
    )
    assert isinstance(settings, DemoSettings)
    assert settings.token.get_secret_value() == SECRET
    assert (settings.subdomain, settings.per_minute) == ("from-file", 7)


def test_a_value_and_its_file_together_are_refused(demo_module: None, tmp_path: Path) -> None:
    with pytest.raises(HelpdeskConfigError, match="TOKEN and SUPPORTER_CHATWOOT_TOKEN_FILE"):
        registry.load_settings(
            "chatwoot",
            {"SUPPORTER_CHATWOOT_TOKEN": SECRET, "SUPPORTER_CHATWOOT_TOKEN_FILE": "/x"},
        )


def test_an_unreadable_secret_file_names_the_variable(demo_module: None, tmp_path: Path) -> None:
    missing = tmp_path / "nothing"
    with pytest.raises(HelpdeskConfigError, match=r"SUPPORTER_CHATWOOT_TOKEN_FILE: cannot read"):
        registry.load_settings("chatwoot", {"SUPPORTER_CHATWOOT_TOKEN_FILE": str(missing)})


def test_missing_and_bad_settings_are_named_without_their_values(demo_module: None) -> None:
    with pytest.raises(HelpdeskConfigError) as caught:
        registry.load_settings(
            "chatwoot", {"SUPPORTER_CHATWOOT_PER_MINUTE": SECRET, "SUPPORTER_CHATWOOT_TOKEN": "t"}
        )
    message = str(caught.value)
    assert "SUPPORTER_CHATWOOT_SUBDOMAIN" in message
    assert "SUPPORTER_CHATWOOT_PER_MINUTE" in message
    assert SECRET not in message


def test_a_connector_not_written_yet_is_not_available(monkeypatch: pytest.MonkeyPatch) -> None:
    # Whatever is installed, a name whose module is missing reads as not available.
    monkeypatch.setitem(sys.modules, "supporter.helpdesks.rt", None)
    with pytest.raises(HelpdeskConfigError, match="helpdesk rt is not available"):
        registry.connect("rt", {})


def test_an_unknown_helpdesk_lists_the_known_ones() -> None:
    with pytest.raises(HelpdeskConfigError, match=r"unknown helpdesk 'gorgias'.*zendesk"):
        registry.connect("gorgias", {})
