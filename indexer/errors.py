"""The errors the indexer raises on purpose, one per layer, all under `IndexerError`.

Every message is one line, fit for a log or a CLI error. A caller that only wants to tell
an expected failure from a bug catches `IndexerError`.

    IndexerError
    ├── UnusableReport        one report file yields no records: the corpus skips it
    │   ├── UnreadableReport  readers: the bytes cannot be turned into text
    │   └── NotAReport        parse: the text is not a monthly policy report
    ├── CorpusError           corpus: the data directory as a whole is unusable
    ├── IndexingError         indexing: an index could not be written
    │   └── ResourcesMismatch the index was built with other analysis resources
    ├── BuildError            build: a build or rollback could not run
    │   ├── BuildLocked       another build or rollback holds the lock
    │   ├── RollbackError     no generation to switch to
    │   └── ReplicationError  replicate: a generation could not be copied from the primary
    └── BadDate               dates: a date bound that is malformed or does not exist
"""
from __future__ import annotations


class IndexerError(Exception):
    """An expected failure of the indexer; the message is one line."""


class UnusableReport(IndexerError):
    """One report file yields no records (the corpus lists it as skipped)."""


class UnreadableReport(UnusableReport):
    """A report whose bytes cannot be turned into text (encoding, binary, PDF without text)."""


# A ValueError as well, as the parser's error has always been one.
class NotAReport(UnusableReport, ValueError):
    """Text that is not a monthly policy report (empty, or no appendix of policy texts)."""


class CorpusError(IndexerError):
    """The data directory as a whole is unusable (missing, or no reports in it)."""


class IndexingError(IndexerError):
    """An index could not be written."""


class ResourcesMismatch(IndexingError):
    """The index was built with other analysis resources: rebuild it whole."""


class BuildError(IndexerError):
    """A build or rollback could not run."""


class BuildLocked(BuildError):
    """Another build or rollback holds the lock."""


class RollbackError(BuildError):
    """No generation to switch to, or the target is unusable."""


class ReplicationError(BuildError):
    """A generation could not be copied from the primary (unreachable, refused,
    cut off, corrupted, or built with other analysis resources): the replica's live
    generation stays."""


# A ValueError as well, so that code validating input with `except ValueError` keeps working.
class BadDate(IndexerError, ValueError):
    """A date (bound) that is malformed or does not exist; the message is in Chinese, for
    the user who typed it. `reason` is 'format', 'year', 'month' or 'day'."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason
