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
        corpus = load_corpus(Path(data_dir))
    except CorpusError as exc:
        fail(str(exc), EXIT_USAGE)
    if corpus.skipped and not corpus.records:
        first = corpus.skipped[0]
        fail(f"no report could be read: {first['path']}: {first['reason']}")
    return corpus


def _exit_partial_if_skipped(corpus) -> None:
    if corpus.skipped:
        sys.exit(EXIT_PARTIAL)


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
    _exit_partial_if_skipped(corpus)


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
    _exit_partial_if_skipped(corpus)


@main.command()
@click.option("--index-dir", envvar="POLICY_SEARCH_INDEX_DIR", default=DEFAULT_INDEX_DIR, show_default=True,
              help="Index root (also $POLICY_SEARCH_INDEX_DIR).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; 0.0.0.0 exposes the server.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=None, type=click.IntRange(1, 64), help="Worker processes [default: one per core, at least 2].")
def serve(index_dir: str, host: str, port: int, workers: int | None) -> None:
    """Serve the web UI and JSON API with gunicorn."""
    from search_app.server import ServerError, serve as run_server

    try:
        run_server(index_dir, host=host, port=port, workers=workers)
    except ServerError as exc:
        fail(str(exc), EXIT_USAGE)


if __name__ == "__main__":  # pragma: no cover
    main()
