"""``registry typologies``: print the catalogue, write its document (HTML or PDF, ru or en) for circulation."""

from __future__ import annotations

from pathlib import Path

import typer

from registry.typologies import catalogue, document
from registry.typologies.settings import get_typology_settings

app = typer.Typer(no_args_is_help=True, help="Typologies: the behavioural patterns banks are told to review.")


@app.command("list")
def list_() -> None:
    """Each typology with its version and the conditions it uses."""
    typer.echo(f"catalogue {catalogue.CATALOGUE_VERSION}")
    for t in catalogue.TYPOLOGIES:
        conds = " and ".join(f"{c.indicator} {c.op} {c.threshold:g}" for c in t.all_of)
        if t.any_of:
            conds += " and (" + " or ".join(f"{c.indicator} {c.op} {c.threshold:g}" for c in t.any_of) + ")"
        typer.echo(f"{t.name} v{t.version}: {t.title['en']}\n    {conds}")


@app.command("document")
def write_document(
    out: Path = typer.Argument(..., help="file to write, e.g. typologies-ru.pdf"),
    format: str = typer.Option("pdf", "--format", help="pdf or html"),
    lang: str = typer.Option("ru", "--lang", help="ru or en"),
) -> None:
    """Write the catalogue as the document banks read."""
    if format not in ("pdf", "html") or lang not in document.LANGS:
        typer.echo("error: --format is pdf or html, --lang is ru or en", err=True)
        raise typer.Exit(2)
    settings = get_typology_settings()
    if format == "pdf":
        out.write_bytes(document.pdf(settings, "ru" if lang == "ru" else "en"))
    else:
        out.write_text(document.html(settings, "ru" if lang == "ru" else "en"), encoding="utf-8")
    typer.echo(f"wrote {out}")
