"""Reading a leads CSV: encoding, delimiter, header, and rows with their line numbers.

The whole file is read and decoded before anything else, so a file that cannot be read at all
fails before a single row is written. UTF-8 (with or without BOM) and UTF-16 with BOM are read
directly; anything else is detected with charset-normalizer or refused.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from linkseq.errors import InputError

__all__ = ["MAX_CELL", "CsvRow", "CsvTable", "header_key", "iter_lines", "read_csv"]

MAX_CELL = 10_000
_SAMPLE = 256 * 1024
_DELIMITERS = (",", ";", "\t")
_BLOCK = 1 << 20
# Line breaks of `str.splitlines` that a file read with newline="" does not break on.
_OTHER_BREAKS = ("\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
_LINE = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+")


def iter_lines(text: str) -> Iterator[str]:
    """The lines of `text` with their endings, as `io.StringIO(text, newline="")` gives them.

    Without the copy: StringIO holds four bytes per character, 60 MB for a 15 MB file.
    """
    if any(other in text for other in _OTHER_BREAKS):
        for match in _LINE.finditer(text):
            yield match.group()
        return
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start + _BLOCK)  # a block ends after a "\n": never inside "\r\n"
        end = size if end < 0 else end + 1
        yield from text[start:end].splitlines(keepends=True)
        start = end


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One data record: the line it starts on and its cells."""

    line: int
    cells: list[str]


@dataclass(frozen=True, slots=True)
class CsvTable:
    """A decoded CSV: its header keys, delimiter, encoding and an iterator over its rows."""

    header: list[str]
    delimiter: str
    encoding: str
    text: str

    def rows(self) -> Iterator[CsvRow]:
        """The data rows after the header; blank rows are skipped."""
        reader = csv.reader(iter_lines(self.text), delimiter=self.delimiter)
        next(reader, None)
        end = reader.line_num
        for cells in reader:
            start, end = end + 1, reader.line_num
            if any(cell.strip() for cell in cells):
                yield CsvRow(line=start, cells=cells)

    def count_rows(self) -> int:
        """A cheap estimate of the number of rows (physical lines after the header)."""
        return max(0, self.text.count("\n") - 1)


def header_key(name: str) -> str:
    """A column name as a template-friendly key: `Company Name` → `company_name`."""
    key = re.sub(r"[^0-9a-z_]+", "_", name.strip().lower()).strip("_")
    return key if key and not key[0].isdigit() else f"column_{key}"


def _decode(data: bytes, name: str) -> tuple[str, str]:
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        if b"\x00" in data[:_SAMPLE]:
            raise InputError(f"{name} is not a text CSV file (it contains binary data)")
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            best = from_bytes(data[:_SAMPLE]).best()
            if best is None:
                raise InputError(
                    f"{name}: cannot tell its text encoding; save it as UTF-8 and retry"
                ) from None
            encoding = str(best.encoding)
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise InputError(f"{name}: not valid {encoding} text; save it as UTF-8 and retry") from None
    return text, encoding


def _looks_binary(text: str) -> bool:
    sample = text[:_SAMPLE]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n")
    return controls > max(8, len(sample) // 100)


def _delimiter(first_line: str) -> str:
    counts = {delimiter: first_line.count(delimiter) for delimiter in _DELIMITERS}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def read_csv(path: Path) -> CsvTable:
    """Read and decode `path`; raises `InputError` when it cannot be read as a CSV at all."""
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {name}: {exc.strerror or exc}") from None
    if not data or data.isspace():  # without the copy that data.strip() makes
        raise InputError(f"{name} is empty")
    text, encoding = _decode(data, name)
    if _looks_binary(text):
        raise InputError(f"{name} is not a text CSV file (it contains binary data)")
    newline = text.find("\n")
    first_line = text if newline < 0 else text[:newline]
    delimiter = _delimiter(first_line)
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(iter_lines(text), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise InputError(f"{name}: cannot read the header line: {exc}") from None
    keys = [header_key(cell) for cell in header]
    return CsvTable(header=keys, delimiter=delimiter, encoding=encoding, text=text)
