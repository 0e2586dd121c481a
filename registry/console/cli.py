"""``registry console messages``: keep the console's and the public check page's catalogs in step with their texts."""

from __future__ import annotations

import typer

from registry.console import messages
from registry.console.deps import HERE
from registry.feature import command_group

app = typer.Typer(help="The web console and the public check page.", no_args_is_help=True)

FEATURE_DIRS = {"console": HERE, "check": HERE.parent / "check"}
"""Both features keep their texts in catalogs of the same shape (the check page's directory by path: the console
does not import it)."""


@app.command("messages")
def update_messages(
    check: bool = typer.Option(False, "--check", help="only report texts without a translation; exit 1 if any"),
) -> None:
    """Extract the texts of the templates and sources into the ru/kk/en catalogs (locale/*/LC_MESSAGES/messages.po)
    and list what still needs a translation."""
    gaps = 0
    for name, path in FEATURE_DIRS.items():
        found = messages.missing(path) if check else messages.update(path)
        for m in found:
            gaps += len(m.msgids)
            typer.echo(f"{name} {m.lang}: {len(m.msgids)} text(s) without a translation")
            for text in m.msgids[:20]:
                typer.echo(f"  {text!r}")
    if gaps and check:
        raise typer.Exit(1)
    typer.echo("catalogs up to date" if not gaps else f"{gaps} text(s) to translate")


register = command_group("console", app)
