"""Reading an index's files through the OS page cache, without a private copy.

Whoosh opens a compound segment by mapping it and wrapping each part in
`BufferFile`, whose `BytesIO(memoryview)` copies the part into the process: every
search worker then holds its own copy of the whole index (886 MB per worker at 50×
the report). `MappedStorage` hands Whoosh files that read straight from a shared
read-only mapping instead; a compound segment opened through it takes Whoosh's
`subset` path, so its parts are views of the same mapping.

Each file object keeps its own position in Python memory, never in the kernel: a
worker forked from a process that opened the index cannot move another worker's
offset (an earlier attempt with plain file objects failed that way), and a mapping
stays valid after the build removes or replaces the files of an old generation.
"""
from __future__ import annotations

import mmap
import os
from array import array
from sys import byteorder

from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile

_ITEM_SIZES = {typecode: array(typecode).itemsize for typecode in "bBhHiIlLqQfd"}


class MappedRegion:
    """A file-like window [start, start + length) over a buffer (a read-only mmap or
    bytes): reads return copies of only the bytes asked for."""

    __slots__ = ("source", "start", "length", "position")

    def __init__(self, source, start: int = 0, length: int | None = None):
        self.source = source
        self.start = start
        self.length = len(source) - start if length is None else length
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        begin = self.position
        end = self.length if size is None or size < 0 else min(begin + size, self.length)
        if end <= begin:
            return b""
        self.position = end
        return self.source[self.start + begin : self.start + end]

    def readinto(self, target) -> int:
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)

    def readline(self, size: int = -1) -> bytes:
        limit = self.length if size is None or size < 0 else min(self.position + size, self.length)
        newline = self.source.find(b"\n", self.start + self.position, self.start + limit)
        end = limit if newline < 0 else newline + 1 - self.start
        return self.read(end - self.position)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.position, os.SEEK_END: self.length}[whence]
        self.position = max(0, base + offset)
        return self.position

    def tell(self) -> int:
        return self.position

    def slice(self, start: int, length: int) -> bytes:
        if start < 0 or start + length > self.length:
            raise EOFError(f"read of {length} bytes at {start} is outside a region of {self.length}")
        return self.source[self.start + start : self.start + start + length]

    def close(self) -> None:
        # The mapping is shared with sibling regions (the parts of a compound segment);
        # it is unmapped when the last of them is gone.
        self.source = b""


class MappedFile(StructFile):
    """Whoosh's structured file over a MappedRegion. `subset` gives a view of the
    same mapping, which is how a compound segment's parts are opened."""

    def __init__(self, region: MappedRegion, name=None, onclose=None):
        super().__init__(region, name=name, onclose=onclose)
        self.is_real = False  # no descriptor: Whoosh must not map or `fromfile` it

    def subset(self, offset, length, name=None):
        region = self.file
        return MappedFile(MappedRegion(region.source, region.start + offset, length), name=name or self._name)

    def get(self, position, length):
        return self.file.slice(position, length)

    def get_array(self, position, typecode, length):
        values = array(typecode)
        values.frombytes(self.get(position, length * _ITEM_SIZES[typecode]))
        if byteorder == "little":  # Whoosh writes arrays big-endian
            values.byteswap()
        return values


def map_file(path: str, **kwargs) -> MappedFile:
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        # An empty file cannot be mapped; nothing to share either.
        source = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    return MappedFile(MappedRegion(source), name=os.path.basename(path), **kwargs)


class MappedStorage(FileStorage):
    """A FileStorage whose existing files are read through shared mappings. New files
    (an update's segments) are written as usual."""

    supports_mmap = False  # the segments must not be re-mapped and copied by Whoosh

    def __init__(self, path, readonly: bool = False):
        super().__init__(path, supports_mmap=False, readonly=readonly)

    def open_file(self, name, **kwargs):
        return map_file(self._fpath(name), **kwargs)
