"""Benchmarks for policy-search: `make bench` (python -m benchmarks.run).

Speed is measured here and only here, never in the test suite. Every figure that is
compared with another (a build against jieba's own tokenisation, Whoosh against
SQLite FTS5, concurrency 16 against concurrency 1) is measured in the same run on the
same machine, because the machine is shared and absolute times drift from run to run.
"""
