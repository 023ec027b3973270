"""Opening an import file: the checks that make it usable or not, then a stream of its rows.

A file is unusable (one `ImportFileError` sentence, nothing written) when it is missing, empty,
binary, not UTF-8, or its header lacks a required column. Everything after the header is judged row by
row: a row with broken bytes or the wrong number of fields is one rejected row, not a lost file.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TextIO

from storage.column_map import HeaderMap, ImportFileError, Kind, map_header

SNIFF_BYTES = 1 << 16
DELIMITERS = (",", ";", "\t")


def _check_bytes(path: Path, head: bytes) -> str:
    """The decoded head of the file, or `ImportFileError` saying why the bytes are not UTF-8 text."""
    name = path.name
    if not head.strip():
        raise ImportFileError(f"{name}: the file is empty (a header row is expected)")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(f"{name}: the file is UTF-16; save it as CSV in UTF-8")
    if b"\x00" in head:
        raise ImportFileError(f"{name}: not a CSV text file (it contains binary data)")
    try:
        return codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        hint = ""
        try:
            head.decode("cp1251")
            hint = " (it looks like Windows-1251)"
        except UnicodeDecodeError:
            pass
        raise ImportFileError(f"{name}: the file is not UTF-8 text{hint}; save it as CSV in UTF-8") from None


def sniff_delimiter(first_line: str) -> str:
    """`,` unless the header is clearly split by `;` or tabs (as spreadsheet exports often are)."""
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


class CsvSource:
    """`with CsvSource(path, kind) as src:` → `src.hmap`, then `src.rows()` yields (line, cells, problem)."""

    def __init__(self, path: Path, kind: Kind) -> None:
        self.path = path
        self.kind = kind
        self._file: TextIO | None = None
        self.hmap: HeaderMap

    def __enter__(self) -> CsvSource:
        name = self.path.name
        try:
            with self.path.open("rb") as raw:
                head = raw.read(SNIFF_BYTES)
        except FileNotFoundError:
            raise ImportFileError(f"{self.path}: no such file") from None
        except IsADirectoryError:
            raise ImportFileError(f"{self.path}: is a directory, not a CSV file") from None
        except OSError as exc:
            raise ImportFileError(f"{self.path}: cannot read the file ({exc.strerror})") from None
        text = _check_bytes(self.path, head)
        self._clean = _all_utf8(self.path)
        self._delimiter = sniff_delimiter(text.split("\n", 1)[0])
        # Later broken bytes become rejected rows (surrogates are detected per row), not a lost file.
        self._file = self.path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
        self._reader = csv.reader(self._file, delimiter=self._delimiter)
        try:
            header = next(self._reader)
        except (StopIteration, csv.Error) as exc:
            self.close()
            raise ImportFileError(f"{name}: no readable header row ({exc or 'empty'})") from None
        if _has_bad_bytes(header):
            self.close()
            raise ImportFileError(f"{name}: the header is not valid UTF-8 text")
        try:
            self.hmap = map_header(self.kind, header, name)
        except ImportFileError:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def rows(self) -> Iterator[tuple[int, list[str], str | None]]:
        """Data rows with the 1-based physical line they start on (the header is line 1).

        `problem` is a reason when the row is unreadable as such (bad bytes, wrong field count);
        blank lines are skipped.
        """
        reader = self._reader
        width = self.hmap.width
        previous = reader.line_num
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                line, previous = previous + 1, reader.line_num
                yield line, [], f"not readable as CSV: {exc}"
                continue
            line, previous = previous + 1, reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if len(cells) != width and (len(cells) < width or any(c.strip() for c in cells[width:])):
                yield line, cells, f"the row has {len(cells)} fields where the header has {width}"
                continue
            if not self._clean and _has_bad_bytes(cells):
                yield line, cells, "the row is not valid UTF-8 text"
                continue
            yield line, cells, None


def _all_utf8(path: Path) -> bool:
    """One quick pass in C over the bytes: when the whole file is UTF-8, rows need no check of their own."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as raw:
            while chunk := raw.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _has_bad_bytes(cells: list[str]) -> bool:
    try:
        "".join(cells).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
