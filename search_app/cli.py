"""The `policy-search` command: thin click wrappers over pure functions.

Errors a user can cause end in one line on stderr and a non-zero exit code,
never a traceback.
"""
from __future__ import annotations

import json
import os
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


def _networks(ctx, param, values):
    from search_app.views.publish import allowed_networks

    try:
        allowed_networks(values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return values


@main.command()
@click.option("--index-dir", envvar="POLICY_SEARCH_INDEX_DIR", default=DEFAULT_INDEX_DIR, show_default=True,
              help="Index root (also $POLICY_SEARCH_INDEX_DIR).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; 0.0.0.0 exposes the server.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=None, type=click.IntRange(1, 64), help="Worker processes [default: one per core, at least 2].")
@click.option("--publish-allow", "publish_allow", multiple=True, metavar="CIDR", callback=_networks,
              help="Publish the live generation under /replicate/ to these addresses or networks "
                   "(repeatable; replicas pull from it). Off unless given.")
def serve(index_dir: str, host: str, port: int, workers: int | None, publish_allow: tuple) -> None:
    """Serve the web UI and JSON API with gunicorn."""
    from search_app.server import ServerError, serve as run_server

    try:
        run_server(index_dir, host=host, port=port, workers=workers, publish_allow=publish_allow)
    except ServerError as exc:
        fail(str(exc), EXIT_USAGE)


def _primary_url(ctx, param, value):
    from urllib.parse import urlsplit

    parts = urlsplit(value or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.BadParameter(f"the primary's http:// or https:// address, not {value!r}")
    return value


@main.command()
@click.option("--from", "source", required=True, metavar="URL", callback=_primary_url,
              help="The primary's address, e.g. http://10.0.0.10:8000 (its serve --publish-allow must admit this host).")
@click.option("--index-dir", envvar="POLICY_SEARCH_INDEX_DIR", default=DEFAULT_INDEX_DIR, show_default=True,
              help="This replica's index root (also $POLICY_SEARCH_INDEX_DIR).")
@click.option("--keep", envvar="POLICY_SEARCH_KEEP", type=click.IntRange(2, 100), default=3, show_default=True,
              help="Generations kept for rollback.")
@click.option("--watch", is_flag=True, help="Keep polling (every --interval seconds) instead of one pass.")
@click.option("--interval", type=click.FloatRange(0.2, None), default=None,
              help="Seconds between polls with --watch [default: the replicate_interval setting].")
def replicate(source: str, index_dir: str, keep: int, watch: bool, interval: float | None) -> None:
    """Copy the primary's live generation here, check every file, switch to it.

    Exit codes (one pass): 0 live (copied or unchanged), 1 failed (the live
    generation stays), 2 usage, 75 a build, rollback or pull is running here.
    """
    import time

    from indexer.errors import BuildLocked, ReplicationError
    from indexer.replicate import replicate as pull
    from search_app.settings import setting

    interval = interval or setting("replicate_interval")
    last_problem = None
    while True:
        try:
            result = pull(source, Path(index_dir), keep=keep, timeout=setting("replicate_timeout"))
        except BuildLocked as exc:
            if not watch:
                fail(str(exc), EXIT_LOCKED)
        except ReplicationError as exc:
            problem = f"replicate from {source}: {exc}"
            if not watch:
                fail(problem, EXIT_FAILED)
            if problem != last_problem:  # a primary down for an hour: one line, not 360
                _log_line(problem)
            last_problem = problem
        else:
            if not watch:
                click.echo(result.message)
                return
            if result.outcome != "unchanged" or last_problem:
                _log_line(result.message)
            last_problem = None
        time.sleep(interval)


def _log_line(message: str) -> None:
    from datetime import datetime

    click.echo(f"{datetime.now().strftime('%Y-%m-%d %H:%M:%S')} {message}", err=True)


# --------------------------------------------------------------------------- index builds

_BUILD_EXIT = {
    "ok": EXIT_OK,
    "unchanged": EXIT_OK,
    "partial": EXIT_PARTIAL,
    "refused": EXIT_REFUSED,
    "failed": EXIT_FAILED,
    "bad_input": EXIT_USAGE,
    "locked": EXIT_LOCKED,
}


def _build_progress(tty: bool):
    """A bar on a terminal; timestamped log lines for cron and systemd."""
    from datetime import datetime

    from indexer.build import Progress

    class CliProgress(Progress):
        wants_detail = tty

        def __init__(self) -> None:
            self.bar = None

        def stage(self, name: str, message: str) -> None:
            if tty:
                click.echo(message, err=True)
            else:
                click.echo(f"{datetime.now().strftime('%Y-%m-%d %H:%M:%S')} build: {message}", err=True)

        def start(self, total: int, label: str) -> None:
            if tty and total:
                self.bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True)
                self.bar.__enter__()

        def advance(self, n: int = 1) -> None:
            if self.bar is not None:
                self.bar.update(n)

        def finish(self) -> None:
            if self.bar is not None:
                self.bar.__exit__(None, None, None)
                self.bar = None

    return CliProgress()


@main.command()
@click.option("--data-dir", envvar="POLICY_SEARCH_DATA_DIR", default=DEFAULT_DATA_DIR, show_default=True,
              help="Directory with reports/ (also $POLICY_SEARCH_DATA_DIR).")
@click.option("--index-dir", envvar="POLICY_SEARCH_INDEX_DIR", default=DEFAULT_INDEX_DIR, show_default=True,
              help="Index root, created if missing (also $POLICY_SEARCH_INDEX_DIR).")
@click.option("--full", is_flag=True, help="Rebuild every document, not only new and changed ones.")
@click.option("--force", is_flag=True, help="Go live even if the document count drops more than --max-drop.")
@click.option("--max-drop", envvar="POLICY_SEARCH_MAX_DROP", type=click.FloatRange(0, 1), default=0.2,
              show_default=True, help="Largest allowed drop in documents against the live generation.")
@click.option("--keep", envvar="POLICY_SEARCH_KEEP", type=click.IntRange(2, 100), default=3, show_default=True,
              help="Generations kept for rollback.")
@click.option("--if-missing", is_flag=True, help="Build only when there is no live generation yet.")
@click.option("--jobs", envvar="POLICY_SEARCH_JOBS", type=click.IntRange(1, 64), default=os.cpu_count() or 1,
              show_default="the number of cores", help="Processes that index the documents of a build.")
def build(data_dir: str, index_dir: str, full: bool, force: bool, max_drop: float, keep: int,
          if_missing: bool, jobs: int) -> None:
    """Build a new index generation from the reports and switch to it.

    Exit codes: 0 ok, 1 failed (nothing changed), 2 usage, 3 built with skipped
    files, 4 refused by validation, 75 another build is running.
    """
    from indexer.build import build as run_build

    result = run_build(Path(data_dir), Path(index_dir), full=full, force=force, keep=keep, max_drop=max_drop,
                       if_missing=if_missing, progress=_build_progress(sys.stderr.isatty()), jobs=jobs)
    for warning in result.warnings:
        if "\n" not in warning.strip():
            click.echo(f"warning: {warning}", err=True)
    for entry in result.skipped:
        click.echo(f"skipped: {entry['path']}: {entry['reason']}", err=True)
    code = _BUILD_EXIT[result.outcome]
    if code in (EXIT_OK, EXIT_PARTIAL):
        click.echo(result.message)
        sys.exit(code)
    fail(result.message, code)


@main.command()
@click.option("--index-dir", envvar="POLICY_SEARCH_INDEX_DIR", default=DEFAULT_INDEX_DIR, show_default=True,
              help="Index root (also $POLICY_SEARCH_INDEX_DIR).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable status.")
def status(index_dir: str, as_json: bool) -> None:
    """The live generation, its age and sources, and the last build attempt.

    Exits 1 when there is no live generation.
    """
    from indexer.build import index_status

    info = index_status(Path(index_dir))
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
    else:
        click.echo(_render_status(info))
    sys.exit(EXIT_OK if info["live"] else EXIT_FAILED)


def _render_status(info: dict) -> str:
    lines = [f"index root   {info['index_root']}"]
    live = info["live"]
    if live is None:
        lines.append("live         none (run: policy-search build)")
    else:
        kinds = ", ".join(f"{k} {n}" for k, n in (live["documents_by_kind"] or {}).items())
        lines.append(f"live         {live['build_id']}, built {live['built_at']} ({live['age']} ago), "
                     f"{live['mode']} build in {live['duration_s']} s")
        lines.append(f"documents    {live['documents']} ({kinds})")
        for n, source in enumerate(live["sources"]):
            label = "sources" if n == 0 else ""
            lines.append(f"{label:<12} {source['path']}  {source['records']} records  "
                         f"sha256 {source['sha256'][:12]}")
        for entry in live["skipped"]:
            lines.append(f"{'':<12} skipped {entry['path']}: {entry['reason']}")
    gens = ", ".join(g["build_id"] + (" (live)" if g["live"] else "") for g in info["generations"])
    lines.append(f"generations  {gens or 'none'}")
    last = info["last_build"]
    if last and last["outcome"] == "running":
        lines.append(f"last build   running since {last.get('started_at')} (pid {last.get('pid')})")
    elif last:
        when = last.get("finished_at") or last.get("started_at")
        lines.append(f"last build   {last['outcome']} at {when}: {last.get('message', '')}")
    for problem in info["problems"]:
        lines.append(f"problem      {problem}")
    return "\n".join(lines)


@main.command()
@click.option("--index-dir", envvar="POLICY_SEARCH_INDEX_DIR", default=DEFAULT_INDEX_DIR, show_default=True,
              help="Index root (also $POLICY_SEARCH_INDEX_DIR).")
@click.option("--to", "target", default=None, help="Generation to switch to [default: the one before the live one].")
@click.option("--force", is_flag=True, help="Switch even to a generation built with other analysis resources.")
def rollback(index_dir: str, target: str | None, force: bool) -> None:
    """Switch the live index back to an earlier generation."""
    from indexer.build import BuildLocked, RollbackError, live_build_id, rollback as run_rollback

    was = live_build_id(Path(index_dir))
    try:
        now = run_rollback(Path(index_dir), target, force=force)
    except BuildLocked as exc:
        fail(str(exc), EXIT_LOCKED)
    except RollbackError as exc:
        fail(str(exc), EXIT_FAILED)
    click.echo(f"generation {now} is live (was {was})")



def facet_options(command):
    """One repeatable --option per filterable facet, as indexer.schema lists them."""
    from indexer.schema import FACET_LABELS, FACET_TITLES, FILTER_FACETS

    for name in reversed(FILTER_FACETS):
        labels = FACET_LABELS.get(name)
        choices = f": {' / '.join(f'{k} ({v})' for k, v in labels.items())}" if labels else ""
        command = click.option(f"--{name.replace('_', '-')}", name, multiple=True,
                               help=f"{FACET_TITLES[name]}{choices} (repeatable; any one matches).")(command)
    return command


def _sort_names() -> list[str]:
    from indexer.schema import SORTS

    return list(SORTS)


@main.command()
@click.argument("query", nargs=-1)
@click.option("--index-dir", envvar="POLICY_SEARCH_INDEX_DIR", default=DEFAULT_INDEX_DIR, show_default=True,
              help="Index root (also $POLICY_SEARCH_INDEX_DIR).")
@facet_options
@click.option("--from", "date_from", default=None, help="Published on or after (YYYY[-MM[-DD]]).")
@click.option("--to", "date_to", default=None, help="Published on or before (YYYY[-MM[-DD]]).")
@click.option("--sort", type=click.Choice(_sort_names()), default="relevance", show_default=True)
@click.option("--page", default=1, show_default=True, type=click.IntRange(1, None))
@click.option("--per-page", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True, help="The search result as JSON.")
def search(query, index_dir, date_from, date_to, sort, page, per_page, as_json, **facets) -> None:
    """Search the index from the terminal (query language: docs/query-language.md)."""
    from indexer.analysis import init_jieba
    from search_app.search import QueryError, SearchError, Searcher

    init_jieba()
    filters = {name: list(values) for name, values in facets.items() if values}
    filters.update({k: v for k, v in (("date_from", date_from), ("date_to", date_to)) if v})
    try:
        result = Searcher(index_dir).search(" ".join(query), filters, sort=sort, page=page, per_page=per_page)
    except QueryError as exc:
        fail(str(exc), EXIT_USAGE)
    except SearchError as exc:
        fail(str(exc), EXIT_FAILED)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(render_search(result, color=sys.stdout.isatty()))


def render_search(result: dict, color: bool) -> str:
    """A page of results as terminal text, the matches in bold red (or in 【】)."""
    from search_app.search import AnsiFormatter, PlainFormatter

    formatter = AnsiFormatter() if color else PlainFormatter()
    lines = [f"共 {result['total']} 条 · 第 {result['page']}/{result['pages']} 页 · {result['took_ms']} 毫秒"
             f" · {result['explanation']['summary']}"]
    first = (result["page"] - 1) * result["per_page"]
    for n, hit in enumerate(result["results"], start=first + 1):
        meta = [" ".join(hit["bodies"] or []), hit["doc_number"], hit["publish_date"],
                " ".join(x for x in (hit["region"], hit["city"]) if x), hit["doc_type"]]
        lines.append("")
        lines.append(f"{n}. {formatter.format(hit['title'] or '', hit['title_spans'])}  [{hit['id']}]")
        lines.append("   " + " · ".join(str(m) for m in meta if m))
        snippet = formatter.format_fragments(hit["snippet"])
        if snippet:
            lines.append("   " + snippet)
    return "\n".join(lines)

if __name__ == "__main__":  # pragma: no cover
    main()
