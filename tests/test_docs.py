"""The README documents every setting and every command (a setting nobody can find is a setting nobody sets)."""

from __future__ import annotations

from typer.testing import CliRunner

from registry.ops.settings_doc import rows
from tests.support.paths import ROOT

README = (ROOT / "README.md").read_text()


def test_every_setting_is_in_the_readme() -> None:
    missing = [env for env, _, _ in rows() if f"`{env}`" not in README]
    assert not missing, f"document these in README.md (python -m registry.ops.settings_doc): {missing}"


def test_every_setting_has_a_description() -> None:
    assert [env for env, _, desc in rows() if not desc] == []


def test_every_command_of_the_contract_exists_and_is_documented() -> None:
    from registry.cli import _register_features, app

    _register_features()
    runner = CliRunner()
    contract = [
        ["serve"],
        ["worker"],
        ["db", "upgrade"],
        ["keys", "create"],
        ["keys", "revoke"],
        ["keys", "list"],
        ["import", "listings"],
        ["import", "sanctions"],
        ["sync"],
        ["crawl"],
        ["score"],
        ["blocklist", "export"],
        ["blocklist", "refresh-register"],
        ["audit", "verify"],
        ["report"],
        ["export", "cis"],
    ]
    for cmd in contract:
        result = runner.invoke(app, [*cmd, "--help"])
        assert result.exit_code == 0, (cmd, result.output)
        assert f"registry {' '.join(cmd)}" in README, cmd
