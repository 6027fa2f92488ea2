"""The `policy-search` command: thin click wrappers over pure functions.

Errors a user can cause end in one line on stderr and a non-zero exit code,
never a traceback.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

# Exit codes, documented in the README.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_REFUSED = 4
EXIT_LOCKED = 75

DEFAULT_DATA_DIR = "data"
DEFAULT_INDEX_DIR = "var/index"


def fail(message: str, code: int = EXIT_FAILED) -> None:
    click.echo(f"policy-search: {message}", err=True)
    sys.exit(code)


def _load_corpus(data_dir: str):
    from indexer.corpus import CorpusError, load_corpus

    try:
        return load_corpus(Path(data_dir))
    except CorpusError as exc:
        fail(str(exc), EXIT_USAGE)


@click.group()
def main() -> None:
    """政策检索: full-text search over Chinese policy reports."""


@main.command()
@click.option("--data-dir", default=DEFAULT_DATA_DIR, show_default=True)
def export(data_dir: str) -> None:
    """Print every record as JSON Lines."""
    corpus = _load_corpus(data_dir)
    for warning in corpus.warnings:
        click.echo(f"warning: {warning}", err=True)
    out = sys.stdout
    for record in corpus.records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


@main.command()
@click.option("--data-dir", default=DEFAULT_DATA_DIR, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
def check(data_dir: str, as_json: bool) -> None:
    """Data-quality report: counts and every anomaly with its resolution."""
    from indexer.quality import quality_report, render_quality_report

    corpus = _load_corpus(data_dir)
    report = quality_report(corpus)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo(render_quality_report(report))


if __name__ == "__main__":  # pragma: no cover
    main()
