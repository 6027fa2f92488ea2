"""Rank bonuses decided beyond the query algebra: how much each title looks like a
pasted title (query.titles), turned into a rank above every ordinary match, with the
body typed in front breaking ties; and, for a run of words typed, its words found in
one sentence of a document that does not hold the run as typed."""
from __future__ import annotations

import numpy as np
from whoosh import query as Q

from indexer.schema import NGRAM_SUFFIX

from .postings import stored_record
from .query.compiler import TIER_RUN
from .query.near import PROSE_FIELDS, Needle, together
from .query.titles import LIKENESS_THRESHOLD, TitleProbe

# Above a document whose title holds every query word (1e5), below one whose title
# holds the query whole (1e7): a title that holds the query whole is the surer sign.
TIER_TITLE_LIKE = 1e6
# Between documents of the same title, the one issued by the body typed.
TIER_ISSUER = 1e4
# Share of the query's own pairs (nothing taken off) a title must hold to make a
# document the query does not otherwise match a hit.
AS_TYPED_THRESHOLD = 0.95
# … when the query is one run of text: a character dropped or mistyped in a pasted title
# costs a pair or two, a word typed beside it is a term of its own.
AS_TYPED_ONE_RUN = 0.85
TITLE_PAIRS = "title" + NGRAM_SUFFIX


def title_bonuses(scorer, probe: TitleProbe, matched: np.ndarray) -> dict[int, float]:
    """{docnum: bonus} for the documents whose title holds at least LIKENESS_THRESHOLD
    of some reading's character pairs. A document the query does not match otherwise
    (outside the mask `matched`) becomes a hit only by a reading with the typed extras
    taken off (the body in front, a mark), or by the query as typed nearly whole (a
    character dropped or mistyped): a title lacking a word typed beside it
    (关于科学绿化的实施意见 江西) is no known item.
    Each pair's postings are read once for all the readings; the pairs of a long title
    are held by most documents, so the counting is done as arrays over the index."""
    readings = probe.readings
    distinct = list(dict.fromkeys(p for r in readings for p in r))
    holders = dict(zip(distinct, (s.mask for s in scorer.score_arrays(
        [Q.Term(TITLE_PAIRS, p) for p in distinct]))))
    likeness = np.zeros(len(matched))
    for reading, pairs in enumerate(readings):
        held = np.zeros(len(matched), dtype=np.int32)
        for pair in pairs:
            held += holders[pair]
        share = held / len(pairs)
        like = share >= LIKENESS_THRESHOLD
        if reading == 0:
            like &= matched | (share >= (AS_TYPED_ONE_RUN if probe.one_run else AS_TYPED_THRESHOLD))
        like &= share > likeness
        likeness[like] = share[like]
    docs = np.flatnonzero(likeness)
    if not len(docs):
        return {}
    issuer = probe.issuer_query()
    shared = scorer.score_arrays([issuer])[0].values[docs] if issuer is not None else np.zeros(len(docs))
    words = max(len(probe.issuer_words), 1)
    bonus = TIER_TITLE_LIKE * likeness[docs] + TIER_ISSUER * shared / words
    return dict(zip(docs.tolist(), bonus.tolist()))


def sentence_bonuses(searcher, runs: tuple[Needle, ...], scores: dict[int, float], depth: int) -> dict[int, float]:
    """{docnum: bonus} for the best `depth` documents (a stored record is read for each):
    half a run's tier for each run a document holds not as typed but with its words in
    one sentence, so that such documents rank between the contiguous and the scattered."""
    bonuses: dict[int, float] = {}
    for docnum in sorted(scores, key=lambda d: (-scores[d], d))[:depth]:
        record = stored_record(searcher, docnum)
        for run in runs:
            as_typed = any(run.found_in(record.get(name) or "") for name in PROSE_FIELDS)
            if not as_typed and together(record, (Needle((), run.words),), "sentence", PROSE_FIELDS):
                bonuses[docnum] = bonuses.get(docnum, 0.0) + TIER_RUN / 2
    return bonuses
