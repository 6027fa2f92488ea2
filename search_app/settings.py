"""Every limit and default of the search service, declared once with what it is for.

The search core, the URL parameters, the pages, the exports and the CLI all read
their limits from here; `docs/architecture.md` lists the table. Values are plain
constants (no runtime configuration): changing one is a code change, reviewed and
tested like any other.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str
    default: int
    help: str


# name, value, what it is for
SETTINGS: tuple[Setting, ...] = tuple(Setting(*row) for row in (
    ("query_chars", 200, "Characters of a query that are searched; the rest is dropped with a note on the page"),
    ("query_param_chars", 5_000, "Longest `q` URL parameter accepted; a longer one (a pasted page, not a query) "
                                 "is refused with a 400"),
    ("query_terms", 24, "Search terms used from one query; further terms are dropped with a note"),
    ("query_depth", 8, "Nesting of parentheses honoured; deeper parentheses are flattened"),
    ("default_per_page", 20, "Results per page when the request does not say"),
    ("max_per_page", 100, "Most results one page may hold (larger requests are clamped)"),
    ("max_result_window", 10_000, "Deepest result a page may reach: page × per_page is clamped to it"),
    ("filter_value_chars", 200, "Longest filter value accepted in a URL"),
    ("filter_values", 50, "Most values one filter may select"),
    ("snippet_chars", 150, "Characters of one snippet passage"),
    ("snippet_surround", 36, "Characters kept around a match in a snippet passage"),
    ("snippet_fragments", 2, "Passages shown per result"),
    ("snippet_matches_per_word", 40, "Occurrences of each word weighed when choosing a snippet (a long plan can "
                                     "hold a word hundreds of times; the document page still marks every one)"),
    ("score_cache_size", 128, "Queries whose scored hits each index generation remembers (paging, facets, "
                              "sorting and exports ask for the same query again)"),
    ("export_batch", 100, "Records read per batch while streaming an export"),
    ("related_documents", 6, "Related documents listed on a document page"),
    ("related_max", 50, "Most related documents one request may ask for"),
    ("feed_entries", 50, "Entries in the Atom feed"),
    ("partial_below", 20, "Full matches below which the documents holding most query words follow them "
                          "(a page's worth, whatever page size was asked for)"),
    ("sentence_rerank", 50, "Best documents of a query with a run of words whose text is read to rank "
                            "the run's words in one sentence above its words anywhere"),
    ("suggestions", 5, "Corrected queries offered when a query finds (next to) nothing"),
    ("suggest_below", 5, "Full matches below which corrected queries are looked for (the first such "
                         "query builds the index's sound table: about a second at 50× the report)"),
))

DEFAULTS: dict[str, int] = {s.name: s.default for s in SETTINGS}


def setting(name: str) -> int:
    """The value of a declared setting (KeyError for a name not in SETTINGS)."""
    return DEFAULTS[name]
