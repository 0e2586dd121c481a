"""The settings of every feature in one table: ``python -m registry.ops.settings_doc`` prints it for the README,
and ``tests/test_docs.py`` fails when a setting is missing from the README."""

from __future__ import annotations

import importlib

from pydantic import SecretStr
from pydantic_settings import BaseSettings

SETTINGS_CLASSES = [
    "registry.settings:Settings",
    "registry.sync.settings:SyncSettings",
    "registry.scoring.settings:ScoringSettings",
    "registry.typologies.settings:TypologySettings",
    "registry.monitoring.settings:MonitoringSettings",
    "blocklist.settings:BlocklistSettings",
    "registry.reports.settings:ReportSettings",
    "registry.console.settings:ConsoleSettings",
    "registry.check.settings:CheckSettings",
]


def settings_classes() -> list[type[BaseSettings]]:
    out: list[type[BaseSettings]] = []
    for spec in SETTINGS_CLASSES:
        module, _, name = spec.partition(":")
        out.append(getattr(importlib.import_module(module), name))
    return out


def rows() -> list[tuple[str, str, str]]:
    seen: set[str] = set()
    out: list[tuple[str, str, str]] = []
    for cls in settings_classes():
        prefix = str(cls.model_config.get("env_prefix", ""))
        for name, field in cls.model_fields.items():
            env = (prefix + name).upper()
            if env in seen:
                continue
            seen.add(env)
            default = field.get_default(call_default_factory=True)
            if isinstance(default, SecretStr):
                default = default.get_secret_value()
            shown = "" if default in ("", None) else default if isinstance(default, str) else repr(default)
            if len(shown) > 60:
                shown = "(built-in table, see the description)"
            out.append((env, shown, (field.description or "").replace("|", "\\|")))
    return out


def markdown() -> str:
    lines = ["| variable | default | what |", "| --- | --- | --- |"]
    lines += [
        f"| `{env}` | `{default}` | {desc} |" if default else f"| `{env}` | | {desc} |" for env, default, desc in rows()
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
