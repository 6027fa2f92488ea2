"""Reading an index's files through the OS page cache, without a private copy.

Whoosh opens a compound segment by mapping it and wrapping each part in
`BufferFile`, whose `BytesIO(memoryview)` copies the part into the process: every
search worker then holds its own copy of the whole index (886 MB per worker at 50×
the report). `SharedFileStorage` hands Whoosh files that read only the bytes asked
for, with positioned reads (`os.pread`) on one descriptor per file; a compound
segment opened through it takes Whoosh's `subset` path, so its parts are windows
on the same descriptor.

Positioned reads rather than a memory mapping: the bytes a read returns are
transient, so the index's pages stay the page cache's and never count as a worker's
own memory (with a mapping, a page only one worker had touched counted in its USS:
60 MB at 50×). Timed side by side on the 50× index, both ways answered the query set
in the same median time.

Each file object keeps its own position in Python memory and a positioned read
never moves the descriptor's offset, so workers forked from a process that opened
the index cannot disturb each other (an earlier attempt with plain file objects
failed that way). An open descriptor also keeps reading the files of an old
generation after the build has removed them.
"""
from __future__ import annotations

import os
import pickle
from array import array
from io import BytesIO
from sys import byteorder

from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile

_ITEM_SIZES = {typecode: array(typecode).itemsize for typecode in "bBhHiIlLqQfd"}

# How far readline() reads ahead at a time looking for the end of a line.
_LINE_CHUNK = 4096
# Bytes read at once for a small read: Whoosh unpickles each postings block's header
# straight from the file, an opcode (a byte or a few) per read, which would otherwise
# cost a system call each.
_READ_AHEAD = 512


class Descriptor:
    """A file open for positioned reads, shared by the regions of one file and closed
    when the last of them is gone."""

    __slots__ = ("fd", "size")

    def __init__(self, path: str):
        self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self.size = os.fstat(self.fd).st_size

    def read_at(self, offset: int, length: int) -> bytes:
        data = os.pread(self.fd, length, offset)
        while len(data) < length:  # a short read is allowed; the file is not shorter
            more = os.pread(self.fd, length - len(data), offset + len(data))
            if not more:
                raise EOFError(f"{length} bytes at {offset} are past the end of the file")
            data += more
        return data

    def __del__(self):
        try:
            os.close(self.fd)
        except (OSError, AttributeError):
            pass


class Region:
    """A file-like window [start, start + length) on a Descriptor: reads return
    copies of only the bytes asked for."""

    __slots__ = ("source", "start", "length", "position", "_ahead", "_ahead_at")

    def __init__(self, source: Descriptor, start: int = 0, length: int | None = None):
        self.source = source
        self.start = start
        self.length = source.size - start if length is None else length
        self.position = 0
        self._ahead, self._ahead_at = b"", 0  # the bytes last read ahead, and where

    def read(self, size: int = -1) -> bytes:
        begin = self.position
        end = self.length if size is None or size < 0 else min(begin + size, self.length)
        if end <= begin:
            return b""
        self.position = end
        at = self._ahead_at
        if at <= begin and end <= at + len(self._ahead):
            return self._ahead[begin - at:end - at]
        if end - begin < _READ_AHEAD:
            self._ahead_at = begin
            self._ahead = self.source.read_at(self.start + begin, min(_READ_AHEAD, self.length - begin))
            return self._ahead[:end - begin]
        return self.source.read_at(self.start + begin, end - begin)

    def readinto(self, target) -> int:
        data = self.read(len(target))
        target[: len(data)] = data
        return len(data)

    def readline(self, size: int = -1) -> bytes:
        limit = self.length if size is None or size < 0 else min(self.position + size, self.length)
        end = self.position
        while end < limit:
            chunk = self.source.read_at(self.start + end, min(_LINE_CHUNK, limit - end))
            newline = chunk.find(b"\n")
            if newline >= 0:
                end += newline + 1
                break
            end += len(chunk)
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
        return self.source.read_at(self.start + start, length)

    def close(self) -> None:
        # The descriptor is shared with sibling regions (the parts of a compound
        # segment); it is closed when the last of them lets go of it.
        self.source = None


class RegionFile(StructFile):
    """Whoosh's structured file over a Region. `subset` gives a window on the same
    descriptor, which is how a compound segment's parts are opened."""

    def __init__(self, region: Region, name=None, onclose=None):
        super().__init__(region, name=name, onclose=onclose)
        self.is_real = False  # not a plain file: Whoosh must not map or `fromfile` it

    def subset(self, offset, length, name=None):
        region = self.file
        return RegionFile(Region(region.source, region.start + offset, length), name=name or self._name)

    def get(self, position, length):
        return self.file.slice(position, length)

    def read_pickle(self):
        # Unpickled from the bytes read ahead, not from the file a few bytes a call (a
        # postings block's header is a small pickle); one longer than that is read as usual.
        region = self.file
        start = region.position
        ahead = BytesIO(region.read(_READ_AHEAD - 1))
        try:
            value = pickle.load(ahead)
        except Exception:  # cut short by the read-ahead
            region.seek(start)
            return pickle.load(region)
        region.seek(start + ahead.tell())
        return value

    def get_array(self, position, typecode, length):
        values = array(typecode)
        values.frombytes(self.get(position, length * _ITEM_SIZES[typecode]))
        if byteorder == "little":  # Whoosh writes arrays big-endian
            values.byteswap()
        return values


def open_shared(path: str, **kwargs) -> RegionFile:
    return RegionFile(Region(Descriptor(path)), name=os.path.basename(path), **kwargs)


class SharedFileStorage(FileStorage):
    """A FileStorage whose existing files are read with positioned reads through the
    page cache. New files (an update's segments) are written as usual."""

    supports_mmap = False  # the segments must not be mapped and copied by Whoosh

    def __init__(self, path, readonly: bool = False):
        super().__init__(path, supports_mmap=False, readonly=readonly)

    def open_file(self, name, **kwargs):
        return open_shared(self._fpath(name), **kwargs)
