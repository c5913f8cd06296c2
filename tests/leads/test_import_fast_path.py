"""The fast import path (compiled row builder, SQLite bulk writer) equals the general path.

The general path is `record_from_cells` over `CsvTable.rows()` and the Core writer
(`write_leads(bulk=False)`); the fast one is `parse_csv` and `write_leads(bulk=True)`. Both are
run on varied files and must give the same records, the same bad rows, and byte-identical rows
in the database (timestamps, JSON and enums as stored), through a first import and an import of
a second, overlapping file.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from linkseq.leads.csv_source import MAX_CELL, iter_lines, read_csv
from linkseq.leads.importer import parse_csv
from linkseq.leads.records import (
    BadRow,
    ColumnPlan,
    LeadRecord,
    RowError,
    record_from_cells,
)
from linkseq.leads.writer import WriteResult, dedupe_records, write_leads
from linkseq.store import build_engine, session_factory, upgrade
from tests.store.factories import T0

HEADERS = [
    ["linkedin_profile_url", "full_name", "first_name", "last_name", "company_name",
     "location", "timezone", "email", "title"],
    ["Profile URL", "LinkedIn Profile URL", "Name", "Full Name", "Company", "Time Zone",
     "Location", "LinkedIn Profile ID", "Sales Navigator Profile ID", "Notes", "notes"],
    ["first_name", "linkedin", "last_name", "email", "city"],
]  # fmt: skip

_handles = st.sampled_from(["jane-doe", "Jane-Doe", "bob", "ACoAAB1234567890abcdefghij", "zoé",
                            "jos%C3%A9", "ann_1", "a%2Fb", "x"])  # fmt: skip
_prefixes = st.sampled_from([
    "https://www.linkedin.com/in/", "http://linkedin.com/in/", "https://fr.linkedin.com/in/",
    "linkedin.com/in/", "https://m.linkedin.com/in/", " HTTPS://WWW.LINKEDIN.COM/in/",
    "https://www.linkedin.com/pub/", "https://example.com/in/",
])  # fmt: skip
_suffixes = st.sampled_from(["", "/", "?trk=x", "#top", "/details/skills/", "  "])
_urls = st.one_of(
    st.builds(lambda p, h, s: p + h + s, _prefixes, _handles, _suffixes),
    st.sampled_from(["", "   ", "not a url", "http://www.linkedin.com/pub/john-smith/4/86a/b79",
                     "https://www.linkedin.com/sales/lead/ACwAAAB12x,NAME,x"]),
)  # fmt: skip
_names = st.text(alphabet="Aé z-=\"',\n", max_size=8)
_CELLS: dict[str, st.SearchStrategy[str]] = {
    "url": _urls,
    "timezone": st.sampled_from(["", "Europe/Paris", "europe/paris", " Europe/Kiev", "Mars/Base",
                                 "UTC", "America/Chicago"]),
    "location": st.sampled_from(["", "Lyon, France", "San Francisco Bay Area", "Somewhere",
                                 "Tbilisi, Georgia", "Greater Paris Metropolitan Region",
                                 "Austin, Texas, United States"]),
    "email": st.sampled_from(["", "a@b.c", "bad email", "x@y", " p@q.r "]),
    "id": st.sampled_from(["", "111", "222", " 333 "]),
    "long": st.sampled_from(["", "n" * 301, "ok"]),
    "text": _names,
}  # fmt: skip
_KINDS = {
    "linkedin_profile_url": "url", "profile_url": "url", "linkedin": "url",
    "timezone": "timezone", "time_zone": "timezone", "location": "location", "city": "location",
    "email": "email", "linkedin_profile_id": "id", "sales_navigator_profile_id": "id",
    "full_name": "long",
}  # fmt: skip


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    """A header and rows: URL variants, aliases, names, zones, bad cells, short and long rows."""
    header = draw(st.sampled_from(HEADERS))
    keys = [name.lower().replace(" ", "_") for name in header]
    rows = []
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        row = [draw(_CELLS[_KINDS.get(key, "text")]) for key in keys]
        shape = draw(st.sampled_from(["same", "same", "same", "short", "blank-extra", "extra"]))
        if shape == "short":
            row = row[: draw(st.integers(min_value=1, max_value=len(row)))]
        elif shape == "blank-extra":
            row += ["", " "]
        elif shape == "extra":
            row += ["surplus"]
        rows.append(row)
    return header, rows


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _general_parse(
    path: Path, default_timezone: str | None
) -> tuple[list[LeadRecord], list[BadRow], int]:
    """The reference: the row-object reader and `record_from_cells`, row by row."""
    table = read_csv(path)
    plan = ColumnPlan.from_header(table.header)
    records: list[LeadRecord] = []
    bad: list[BadRow] = []
    rows = 0
    for row in table.rows():
        rows += 1
        cells = row.cells
        if len(cells) > plan.width and any(cell.strip() for cell in cells[plan.width :]):
            bad.append(BadRow(row.line, f"{len(cells)} cells but {plan.width} columns"))
            continue
        if max(map(len, cells), default=0) > MAX_CELL:
            bad.append(BadRow(row.line, f"a cell is longer than {MAX_CELL} characters"))
            continue
        try:
            records.append(
                record_from_cells(row.line, cells, plan, default_timezone=default_timezone)
            )
        except RowError as exc:
            bad.append(BadRow(row.line, str(exc)))
    return records, bad, rows


@pytest.fixture(scope="module")
def engines() -> Iterator[tuple[Engine, Engine]]:
    """Two migrated SQLite databases: one written by the bulk path, one by the general path."""
    with tempfile.TemporaryDirectory() as tmp:
        pair = []
        for name in ("bulk", "general"):
            engine = build_engine(f"sqlite:///{Path(tmp) / name}.db")
            upgrade(engine)
            pair.append(engine)
        yield pair[0], pair[1]
        for engine in pair:
            engine.dispose()


def _write(engine: Engine, records: list[LeadRecord], *, bulk: bool) -> WriteResult:
    with session_factory(engine)() as session:
        result = write_leads(session, records, now=T0, bulk=bulk)
        session.commit()
    return result


def _stored(engine: Engine) -> list[tuple[Any, ...]]:
    # Raw driver rows: what is really in the file, with no type processing on the way out.
    with engine.connect() as connection:
        return [tuple(row) for row in connection.exec_driver_sql("SELECT * FROM leads ORDER BY id")]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    first=csv_files(),
    second=csv_files(),
    default_timezone=st.sampled_from([None, "Europe/Berlin"]),
)
def test_fast_and_general_paths_store_identical_rows(
    engines: tuple[Engine, Engine],
    first: tuple[list[str], list[list[str]]],
    second: tuple[list[str], list[list[str]]],
    default_timezone: str | None,
) -> None:
    bulk_engine, general_engine = engines
    for engine in engines:
        with engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM leads")
    with tempfile.TemporaryDirectory() as tmp:
        for index, (header, rows) in enumerate((first, second)):
            path = _write_csv(Path(tmp) / f"{index}.csv", header, rows)
            fast = parse_csv(path, default_timezone=default_timezone)
            general = _general_parse(path, default_timezone)
            assert fast == general
            unique, _ = dedupe_records(fast[0])
            again, _ = dedupe_records(general[0])
            assert _write(bulk_engine, unique, bulk=True) == _write(
                general_engine, again, bulk=False
            )
            assert _stored(bulk_engine) == _stored(general_engine)


def test_bulk_path_finds_known_leads_by_profile_and_sales_navigator_id(tmp_path: Path) -> None:
    header = ["linkedin_profile_url", "linkedin_profile_id", "sales_navigator_id", "title"]
    # Ann is known by her LinkedIn id and gains nothing; Bo by his Sales Navigator id gains a title.
    known = [["linkedin.com/in/old-ann", "111", "", "CEO"], ["linkedin.com/in/old-bo", "", "S1"]]
    later = [["linkedin.com/in/ann", "111", "", "CTO"], ["linkedin.com/in/bo", "", "S1", "VP"]]
    stored = []
    for bulk in (True, False):
        engine = build_engine(f"sqlite:///{tmp_path / f'{bulk}.db'}")
        upgrade(engine)
        results = []
        for name, rows in (("known", known), ("later", later)):
            records, bad, _ = parse_csv(_write_csv(tmp_path / f"{name}.csv", header, rows))
            assert bad == []
            results.append(_write(engine, records, bulk=bulk))
        assert (results[1].created, results[1].updated, results[1].unchanged) == (0, 1, 1)
        stored.append(_stored(engine))
        engine.dispose()
    assert stored[0] == stored[1]
    assert [row[1] for row in stored[0]] == [
        "https://www.linkedin.com/in/old-ann",
        "https://www.linkedin.com/in/old-bo",
    ]


@settings(max_examples=200)
@given(st.text(alphabet='ab,"\r\n\v\x85\u2028 ', max_size=40), st.sampled_from([1, 3, 1 << 20]))
def test_iter_lines_splits_like_a_text_file(text: str, block: int) -> None:
    import io

    from linkseq.leads import csv_source

    old, csv_source._BLOCK = csv_source._BLOCK, block
    try:
        assert list(iter_lines(text)) == list(io.StringIO(text, newline=""))
    finally:
        csv_source._BLOCK = old
