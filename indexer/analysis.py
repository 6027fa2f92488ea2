"""Text analysis shared by indexing and querying.

Whoosh pickles the analyzer classes of this module (by import path) into every
index it creates, so `WordAnalyzer` and `CharGramAnalyzer` must keep their names
and stay in `indexer.analysis`.

Two views of every text field are indexed:

* words: jieba segmentation without HMM guessing, a user dictionary of policy
  terms, positions that are word ordinals (search-mode sub-words share their
  word's position), nothing dropped or stemmed. This view ranks.
* character n-grams: every character and every pair of adjacent characters, at
  the ordinal of the character, whitespace removed. A phrase of pairs matches
  exactly the texts that contain a string, whatever jieba made of it in
  context. This view guarantees recall.

Both keep character offsets into the original (unnormalised) text, so snippets
can be cut from stored offsets without re-running jieba. That is why the
normalisation applied before tokenising is one-to-one per character (see
`fold`); only whitespace is dropped, and that is tracked explicitly.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import unicodedata
from pathlib import Path

from whoosh.analysis import Token, Tokenizer

from indexer.doc_numbers import doc_number_key  # noqa: F401 - re-exported
from indexer.folding import compact, fold, normalize_text, squash, unfolded_pattern  # noqa: F401

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DICTIONARIES_DIR = DATA_DIR / "dictionaries"
TABLES_DIR = DATA_DIR / "tables"
USER_DICT = DICTIONARIES_DIR / "user_dict.txt"
SYNONYMS = DICTIONARIES_DIR / "synonyms.txt"
STOPWORDS = DICTIONARIES_DIR / "stopwords.txt"
QUERY_FILLERS = DICTIONARIES_DIR / "query_fillers.txt"

# Bump when the analyzers change what they emit: part of resources_version().
ANALYSIS_CODE_VERSION = "2"

# Folding lives in indexer.folding and 文号 keys in indexer.doc_numbers; they are re-exported
# here because query code and the schema import them from the analysis module.
# --------------------------------------------------------------------------- jieba

_jieba_lock = threading.RLock()
_jieba_tokenizer = None
_jieba_cache_dir: Path | None = None
_loaded_resources_version: str | None = None


def default_cache_dir() -> Path:
    """A cache directory owned by this application and the user running it, never
    the shared system temp directory (where jieba's cache is created mode 0600 by
    whoever came first)."""
    env = os.environ.get("POLICY_SEARCH_CACHE_DIR")
    if env:
        return Path(env) / "jieba"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "policy-search" / "jieba"


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o755)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".probe-", delete=True)
        probe.close()
        return True
    except OSError:
        return False


def _usable_dir(path: Path) -> Path:
    if _writable(path):
        return path
    # An unwritable home (a service account): one private directory per user under
    # the temp directory, reused by every later start rather than a new one each time.
    own = Path(tempfile.gettempdir()) / f"policy-search-{os.getuid()}" / "jieba"
    try:
        own.parent.mkdir(mode=0o700, exist_ok=True)
        if own.parent.stat().st_uid == os.getuid() and _writable(own):
            return own
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="policy-search-jieba-"))


def _cache_file(directory: Path) -> str:
    """jieba writes its cache readable by its owner only; in a directory shared by
    several users each gets a file of its own instead of a traceback per start."""
    shared = directory / "jieba.cache"
    if shared.exists() and not os.access(shared, os.R_OK):
        return f"jieba.{os.getuid()}.cache"
    return "jieba.cache"


def init_jieba(cache_dir: str | os.PathLike | None = None):
    """Initialise jieba once per process: dictionary cache in an application
    directory, HMM off (see tokenize), the policy-term user dictionary loaded.
    Later calls return the same tokenizer; call it at start-up, before forking
    workers, so the dictionary is loaded once."""
    global _jieba_tokenizer, _jieba_cache_dir, _loaded_resources_version
    with _jieba_lock:
        if _jieba_tokenizer is not None:
            return _jieba_tokenizer
        import jieba

        jieba.setLogLevel(logging.WARNING)
        directory = _usable_dir(Path(cache_dir) if cache_dir else default_cache_dir())
        tokenizer = jieba.Tokenizer()
        tokenizer.tmp_dir = str(directory)
        tokenizer.cache_file = _cache_file(directory)
        tokenizer.initialize()
        cache = directory / tokenizer.cache_file
        try:
            if cache.stat().st_uid == os.getuid():
                os.chmod(cache, 0o644)  # readable by the other users of a shared directory
        except OSError:
            pass
        for word, freq, tag in read_user_dict():
            tokenizer.add_word(word, freq, tag)
        _jieba_cache_dir = directory
        _loaded_resources_version = resources_version()
        _jieba_tokenizer = tokenizer
        return tokenizer


def jieba_cache_dir() -> Path | None:
    return _jieba_cache_dir


def loaded_resources_version() -> str:
    """The resources version of what this process has loaded (initialising jieba
    if needed): a dictionary edited after start-up needs a restart to take effect."""
    init_jieba()
    return _loaded_resources_version or resources_version()


def read_user_dict(path: Path = USER_DICT) -> list[tuple[str, int | None, str | None]]:
    """Entries of the jieba user dictionary: `word [freq] [tag]`, # comments."""
    entries = []
    if not path.exists():
        return entries
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        word = unicodedata.normalize("NFKC", parts[0])
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[2] if len(parts) > 2 else None
        entries.append((word, freq, tag))
    return entries


def _segments(text: str):
    """(word, start, end) in `text` by jieba's accurate mode without HMM."""
    tokenizer = init_jieba()
    return tokenizer.tokenize(text, mode="default", HMM=False)


def _is_content(word: str) -> bool:
    return any(ch.isalnum() for ch in word)


def query_words(text: str) -> list[str]:
    """The words of a query term as the word fields index them (no sub-words:
    the index holds those for every longer word)."""
    compacted, _ = compact(fold(text))
    return [w.lower() for w, _s, _e in _segments(compacted) if _is_content(w)]


_MAX_SUB_WORD = 6


def sub_words(word: str) -> list[tuple[str, int]]:
    """The dictionary words inside a longer word, with their offset in it: like
    jieba's search mode, but up to six characters, so 生态环境 is found inside
    生态环境保护 and 冷链物流 inside 冷链物流基地."""
    if len(word) <= 2 or word.isascii():
        return []
    freq = init_jieba().FREQ
    found = []
    for n in range(2, min(len(word) - 1, _MAX_SUB_WORD) + 1):
        for i in range(len(word) - n + 1):
            gram = word[i:i + n]
            if freq.get(gram):
                found.append((gram, i))
    return found


# --------------------------------------------------------------------------- analyzers

class _OffsetTokenizer(Tokenizer):
    """Shared plumbing of the two analyzers: each yields (text, ordinal position,
    start, end) tuples from `spans`, with offsets into the original value."""

    def __eq__(self, other):
        return other is not None and other.__class__ is self.__class__

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True,
                 mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            # The whole value as one term: same normalisation, no splitting.
            t.original = t.text = squash(value)
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar = start_char
                t.endchar = start_char + len(value)
            yield t
            return
        for text, pos, start, end in self.spans(value, mode):
            t.text = text
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = value[start:end]
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar = start_char + start
                t.endchar = start_char + end
            yield t

    def spans(self, value: str, mode: str):
        raise NotImplementedError


class WordAnalyzer(_OffsetTokenizer):
    """jieba words at ordinal positions; sub-words share their word's position."""

    def spans(self, value: str, mode: str):
        compacted, offsets = compact(fold(value))
        pos = 0
        for word, start, end in _segments(compacted):
            if not _is_content(word):
                continue
            for gram, i in ([] if mode == "query" else sub_words(word)):
                yield gram.lower(), pos, offsets[start + i], offsets[start + i + len(gram) - 1] + 1
            yield word.lower(), pos, offsets[start], offsets[end - 1] + 1
            pos += 1


class CharGramAnalyzer(_OffsetTokenizer):
    """Every non-space character and every pair of adjacent non-space characters,
    both at the ordinal of their first character, Latin lower-cased."""

    def spans(self, value: str, mode: str):
        folded = fold(value, lower=True)
        offsets = [i for i, ch in enumerate(folded) if not ch.isspace()]
        text = "".join(folded[i] for i in offsets)
        n = len(text)
        for i in range(n):
            yield text[i], i, offsets[i], offsets[i] + 1
            if i + 1 < n:
                yield text[i:i + 2], i, offsets[i], offsets[i + 1] + 1


def char_grams(needle: str) -> list[str]:
    """The n-gram terms whose phrase matches exactly the texts containing
    `needle` (already squashed): one term for one or two characters, else the
    chain of overlapping pairs."""
    if len(needle) <= 2:
        return [needle] if needle else []
    return [needle[i:i + 2] for i in range(len(needle) - 1)]


# --------------------------------------------------------------------------- synonyms

def _parse_synonym_line(line: str):
    """Solr-style: `a, b, c` are equivalent; `a => b c, d` expands a one way. An
    alternative with spaces (简政放权 放管结合 优化服务) requires all its parts."""
    if "=>" in line:
        left, right = line.split("=>", 1)
        keys = [k.strip() for k in left.split(",") if k.strip()]
        alternatives = [a.strip() for a in right.split(",") if a.strip()]
        return [(k, alternatives) for k in keys]
    members = [m.strip() for m in line.split(",") if m.strip()]
    return [(m, [o for o in members if o != m]) for m in members]


def load_word_list(path: Path) -> frozenset[str]:
    """A dictionary file of one word per line (# starts a comment line)."""
    if not path.exists():
        return frozenset()
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(squash(w) for w in lines if w.strip() and not w.startswith("#"))


def load_stopwords(path: Path = STOPWORDS) -> frozenset[str]:
    """The function words a query's word fallback leaves out (data/dictionaries/stopwords.txt)."""
    return load_word_list(path)


def load_query_fillers(path: Path = QUERY_FILLERS) -> frozenset[str]:
    """Words typed beside a topic that name none (文件, 相关政策): optional in a query."""
    return load_word_list(path)


def load_synonyms(path: Path = SYNONYMS, tables_dir: Path = TABLES_DIR) -> dict[str, list[list[str]]]:
    """squashed term → list of alternatives, each a list of squashed parts that are
    all required. Central agency aliases (data/tables/agencies.tsv) form groups of
    equivalent names as well."""
    table: dict[str, list[list[str]]] = {}

    def add(key: str, alternative: str) -> None:
        k = squash(key)
        parts = [squash(p) for p in alternative.split() if squash(p)]
        if not k or not parts or parts == [k]:
            return
        alternatives = table.setdefault(k, [])
        if parts not in alternatives:
            alternatives.append(parts)

    agencies = tables_dir / "agencies.tsv"
    if agencies.exists():
        header_seen = False
        for line in agencies.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            cells = line.split("\t")
            if not header_seen:
                header_seen = True
                if cells[0].strip() == "canonical":
                    continue
            names = [cells[0].strip()] + [a.strip() for a in (cells[1] if len(cells) > 1 else "").split("|")]
            names = [n for n in names if len(n) >= 2]
            for name in names:
                for other in names:
                    if other != name:
                        add(name, other)
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            for key, alternatives in _parse_synonym_line(line):
                for alternative in alternatives:
                    add(key, alternative)
    return table


# --------------------------------------------------------------------------- versions

def resource_files() -> list[Path]:
    files = []
    for directory in (DICTIONARIES_DIR, TABLES_DIR):
        if directory.is_dir():
            files.extend(p for p in sorted(directory.rglob("*")) if p.is_file() and not p.name.startswith("."))
    return files


def resources_version() -> str:
    """A hash over the analysis code version, jieba's version and every file under
    data/dictionaries and data/tables. Stamped into each index; a search refuses
    an index stamped with another version."""
    import jieba

    digest = hashlib.sha256()
    digest.update(f"analysis={ANALYSIS_CODE_VERSION};jieba={jieba.__version__}\n".encode())
    for path in resource_files():
        digest.update(str(path.relative_to(DATA_DIR)).encode("utf-8") + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def resources_description() -> dict:
    """What resources_version covers, for status pages."""
    import jieba

    return {
        "version": resources_version(),
        "analysis_code": ANALYSIS_CODE_VERSION,
        "jieba": jieba.__version__,
        "files": {
            str(p.relative_to(DATA_DIR)): hashlib.sha256(p.read_bytes()).hexdigest()[:12]
            for p in resource_files()
        },
    }
