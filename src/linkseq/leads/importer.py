"""`linkseq leads import`: a CSV file in, leads (and enrollments) out, with a report.

Two passes: every row is parsed and checked first (nothing written), then the good rows are
written in one transaction. So `--strict` can refuse a file with any bad row before writing, a
file that cannot be read writes nothing, and `--dry-run` rolls the transaction back.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from linkseq.errors import InputError
from linkseq.leads.csv_source import MAX_CELL, CsvTable, iter_lines, read_csv
from linkseq.leads.enroll import EnrollResult, campaign_by_name, enroll_leads
from linkseq.leads.records import (
    URL_COLUMNS,
    BadRow,
    ColumnPlan,
    LeadRecord,
    RowError,
    compile_row_builder,
)
from linkseq.leads.writer import dedupe_records, write_leads
from linkseq.store.models import Campaign

__all__ = ["ImportReport", "Progress", "import_csv", "parse_csv"]

# Called with (rows done, rows in total) while writing.
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class ImportReport:
    """What an import did (or, with `dry_run`, would do)."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates_in_file: int = 0
    forgotten: int = 0
    enrolled: int = 0
    already_enrolled: int = 0
    on_dnc: int = 0
    retried: int = 0  # leads' held steps due again now that the leads gained data
    bad_rows: list[BadRow] = field(default_factory=list)
    dry_run: bool = False

    def as_dict(self) -> dict[str, object]:
        """A JSON-friendly view."""
        return {
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "duplicates_in_file": self.duplicates_in_file,
            "forgotten": self.forgotten,
            "enrolled": self.enrolled,
            "already_enrolled": self.already_enrolled,
            "on_dnc": self.on_dnc,
            "retried": self.retried,
            "bad_rows": [{"line": bad.line, "reason": bad.reason} for bad in self.bad_rows],
            "dry_run": self.dry_run,
        }


def _check_header(table: CsvTable, path: Path) -> None:
    if not any(column in table.header for column in URL_COLUMNS):
        found = ", ".join(table.header[:12]) or "nothing"
        raise InputError(
            f"{path}: no linkedin_profile_url column (found: {found}); "
            "add a column named linkedin_profile_url with each person's profile URL"
        )


def parse_csv(
    path: Path, *, default_timezone: str | None = None
) -> tuple[list[LeadRecord], list[BadRow], int]:
    """Every good record, every bad row, and the number of data rows of `path`."""
    table = read_csv(path)
    _check_header(table, path)
    plan = ColumnPlan.from_header(table.header)  # once per file, not once per row
    build = compile_row_builder(plan, default_timezone=default_timezone)
    width = plan.width
    records: list[LeadRecord] = []
    append = records.append
    bad: list[BadRow] = []
    rows = 0
    # The reader is driven here rather than through `CsvTable.rows()`: no object per row.
    reader = csv.reader(iter_lines(table.text), delimiter=table.delimiter)
    try:
        next(reader, None)
        end = reader.line_num
        for cells in reader:
            line, end = end + 1, reader.line_num
            if not "".join(cells).strip():  # blank row: every cell is whitespace
                continue
            rows += 1
            if len(cells) > width and "".join(cells[width:]).strip():
                bad.append(BadRow(line, f"{len(cells)} cells but {width} columns"))
                continue
            if max(map(len, cells)) > MAX_CELL:
                bad.append(BadRow(line, f"a cell is longer than {MAX_CELL} characters"))
                continue
            try:
                append(build(line, cells))
            except RowError as exc:
                bad.append(BadRow(line, str(exc)))
    except Exception as exc:  # csv.Error and friends: the file itself is broken
        raise InputError(f"{path}: cannot be read as CSV after line {rows}: {exc}") from None
    return records, bad, rows


def _default_timezone(campaign: Campaign | None) -> str | None:
    if campaign is None:
        return None
    schedule = campaign.spec.get("schedule") or {}
    value = schedule.get("default_timezone")
    return str(value) if value else None


def import_csv(
    session: Session,
    path: Path,
    *,
    now: datetime,
    campaign: str | None = None,
    dry_run: bool = False,
    strict: bool = False,
    progress: Progress | None = None,
    allow_forgotten: bool = False,
) -> ImportReport:
    """Import `path`; commits unless `dry_run` (then rolls back). Raises `InputError` if refused."""
    target = campaign_by_name(session, campaign) if campaign else None
    records, bad, rows = parse_csv(path, default_timezone=_default_timezone(target))
    report = ImportReport(rows=rows, bad_rows=bad, dry_run=dry_run)
    if strict and bad:
        shown = "; ".join(f"line {b.line}: {b.reason}" for b in bad[:5])
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise InputError(
            f"{path}: {len(bad)} bad row(s), nothing imported (--strict): {shown}{more}"
        )
    unique, report.duplicates_in_file = dedupe_records(records)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, len(unique))

    try:
        written = write_leads(
            session, unique, now=now, progress=advance, allow_forgotten=allow_forgotten
        )
        report.created, report.updated = written.created, written.updated
        report.unchanged, report.forgotten = written.unchanged, written.forgotten
        report.retried = written.retried
        if target is not None:
            enrolled: EnrollResult = enroll_leads(session, target, written.lead_ids or [], now=now)
            report.enrolled, report.already_enrolled = enrolled.enrolled, enrolled.already
            report.on_dnc = enrolled.on_dnc
    except BaseException:
        session.rollback()
        raise
    if dry_run:
        session.rollback()
    else:
        session.commit()
    return report
