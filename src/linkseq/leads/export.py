"""Writing leads back out as CSV, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

from linkseq.store.models import Lead

__all__ = ["EXPORT_COLUMNS", "export_csv_cell", "write_leads_csv"]

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
EXPORT_COLUMNS = (
    "linkedin_profile_url",
    "full_name",
    "first_name",
    "last_name",
    "company_name",
    "email",
    "location",
    "timezone",
    "timezone_source",
)


def export_csv_cell(value: Any) -> str:
    """`value` as CSV cell text that no spreadsheet evaluates (`=HYPERLINK(...)` → `'=HYP...`)."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_leads_csv(leads: Iterable[Lead], out: IO[str]) -> int:
    """Write leads (with their custom columns) to `out`; returns the number of rows."""
    materialised = list(leads)
    custom = sorted({key for lead in materialised for key in (lead.custom_fields or {})})
    writer = csv.writer(out)
    writer.writerow([*EXPORT_COLUMNS, *custom])
    for lead in materialised:
        base = [lead.profile_url, lead.full_name, lead.first_name, lead.last_name,
                lead.company_name, lead.email, lead.location, lead.timezone,
                lead.timezone_source.value]  # fmt: skip
        extra = [(lead.custom_fields or {}).get(key) for key in custom]
        writer.writerow([export_csv_cell(cell) for cell in (*base, *extra)])
    return len(materialised)
