"""CSV import: encodings, delimiters, bad rows, strict mode, duplicates, DNC and enrollment."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from linkseq.errors import InputError
from linkseq.leads.dnc import add_to_dnc
from linkseq.leads.export import export_csv_cell, write_leads_csv
from linkseq.leads.importer import import_csv
from linkseq.leads.search import source_from_search
from linkseq.store import session_factory
from linkseq.store.enums import TimezoneSource
from linkseq.store.models import AuditEvent, Enrollment, Lead
from tests.store.factories import T0, add_campaign, add_identity

HEADER = "linkedin_profile_url,full_name,company_name,location,timezone,title\n"


def _write(tmp_path: Path, text: str | bytes, name: str = "leads.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _leads(session: Session) -> list[Lead]:
    return list(session.scalars(sa.select(Lead).order_by(Lead.id)))


def test_import_normalises_merges_and_keeps_custom_columns(
    session: Session, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        HEADER
        + 'https://fr.linkedin.com/in/Jane-Doe/,Jane Doe,Acme,"Lyon, France",,CEO\n'
        + "linkedin.com/in/jane-doe?trk=x,,,,,\n"
        + "https://www.linkedin.com/in/bob,Bob,,,America/Chicago,CTO\n",
    )
    report = import_csv(session, path, now=T0)
    assert (report.rows, report.created, report.duplicates_in_file) == (3, 2, 1)
    jane, bob = _leads(session)
    assert jane.profile_url == "https://www.linkedin.com/in/jane-doe"
    assert (jane.timezone, jane.timezone_source) == ("Europe/Paris", TimezoneSource.CITY)
    assert jane.custom_fields == {"title": "CEO"}
    assert (bob.timezone, bob.timezone_source) == ("America/Chicago", TimezoneSource.EXPLICIT)


def test_reimport_merges_with_the_database_without_overwriting(
    session: Session, tmp_path: Path
) -> None:
    import_csv(session, _write(tmp_path, HEADER + "linkedin.com/in/jane-d,Jane,,,,\n"), now=T0)
    again = _write(tmp_path, HEADER + "linkedin.com/in/jane-d,Janet,Acme,,,CEO\n", "again.csv")
    report = import_csv(session, again, now=T0)
    assert (report.created, report.updated) == (0, 1)
    (jane,) = _leads(session)
    assert (jane.full_name, jane.company_name) == ("Jane", "Acme")
    assert jane.custom_fields == {"title": "CEO"}
    assert import_csv(session, again, now=T0).unchanged == 1


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("\ufefflinkedin_profile_url;full_name\nlinkedin.com/in/zoë;Zoë\n".encode(), "utf-8-sig"),
        ("linkedin_profile_url\tfull_name\nlinkedin.com/in/zoë\tZoë\n".encode(), "utf-8"),
        (
            "linkedin_profile_url,full_name\nlinkedin.com/in/zoe,Zoë Ærø Größe\n".encode("latin-1"),
            "",
        ),
        ("linkedin_profile_url,full_name\nlinkedin.com/in/zoe,Zoë\n".encode("utf-16"), "utf-16"),
    ],
)
def test_encodings_and_delimiters(
    session: Session, tmp_path: Path, data: bytes, encoding: str
) -> None:
    report = import_csv(session, _write(tmp_path, data), now=T0)
    assert report.created == 1
    (lead,) = _leads(session)
    assert lead.full_name is not None
    assert lead.full_name.startswith("Zoë")


def test_quoted_newlines_and_bad_rows_with_line_numbers(session: Session, tmp_path: Path) -> None:
    text = (
        HEADER
        + 'linkedin.com/in/aaa,"Ann\nMulti-line",,,,\n'  # lines 2-3
        + "https://example.com/x,Nope,,,,\n"  # line 4
        + "linkedin.com/in/bbb,Bee,,,Mars/Base,\n"  # line 5
        + "linkedin.com/in/ccc,Cee,,,,,"
        + "x" * 20
        + "\n"  # line 6: extra cell
        + 'linkedin.com/in/ddd,=HYPERLINK("http://evil"),,,,\n'  # line 7
    )
    report = import_csv(session, _write(tmp_path, text), now=T0)
    assert report.created == 2
    assert [(bad.line, bad.reason.split(" ")[0]) for bad in report.bad_rows] == [
        (4, "'https://example.com/x'"),
        (5, "'Mars/Base'"),
        (6, "7"),
    ]
    names = [lead.full_name for lead in _leads(session)]
    assert names == ["Ann\nMulti-line", '=HYPERLINK("http://evil")']  # stored as text
    out = io.StringIO()
    write_leads_csv(_leads(session), out)
    assert "'=HYPERLINK" in out.getvalue()


def test_strict_writes_nothing_on_a_bad_row(session: Session, tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + "linkedin.com/in/aaa,A,,,,\nnot-a-url,B,,,,\n")
    with pytest.raises(InputError, match=r"nothing imported.*line 3"):
        import_csv(session, path, now=T0, strict=True)
    assert _leads(session) == []


def test_dry_run_reports_but_writes_nothing(session: Session, tmp_path: Path) -> None:
    report = import_csv(
        session, _write(tmp_path, HEADER + "linkedin.com/in/aaa,A,,,,\n"), now=T0, dry_run=True
    )
    assert report.created == 1
    assert _leads(session) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"full_name,company\nJane,Acme\n", "no linkedin_profile_url column"),
        (bytes(range(256)) * 40, "binary data"),
        (b"", "empty"),
    ],
)
def test_unreadable_files_get_one_clear_message(
    session: Session, tmp_path: Path, data: bytes, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        import_csv(session, _write(tmp_path, data), now=T0)
    assert _leads(session) == []


def test_a_huge_cell_is_a_bad_row_not_a_crash(session: Session, tmp_path: Path) -> None:
    text = HEADER + "linkedin.com/in/aaa,A,,,," + "y" * 200_000 + "\nlinkedin.com/in/bbb,B,,,,\n"
    report = import_csv(session, _write(tmp_path, text), now=T0)
    assert report.created == 1
    assert report.bad_rows[0].line == 2


def test_enrollment_skips_dnc_and_spreads_over_identities(engine: Engine, tmp_path: Path) -> None:
    make = session_factory(engine)
    with make() as session:
        one, two = add_identity(session, "a"), add_identity(session, "b")
        add_campaign(session, "spring", identities=(one, two))
        add_to_dnc(session, ["https://www.linkedin.com/in/ccc/"], now=T0, reason="asked")
        session.commit()
    rows = "".join(f"linkedin.com/in/{h * 3},{h},,,,\n" for h in "abcd")
    with make() as session:
        report = import_csv(session, _write(tmp_path, HEADER + rows), now=T0, campaign="spring")
        assert (report.enrolled, report.on_dnc) == (3, 1)
        enrollments = list(session.scalars(sa.select(Enrollment)))
        assert {e.identity_id for e in enrollments} == {one.id, two.id}
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 3
        again = import_csv(session, _write(tmp_path, HEADER + rows), now=T0, campaign="spring")
        assert (again.enrolled, again.already_enrolled) == (0, 3)


def test_unknown_campaign_is_refused(session: Session, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="no campaign named"):
        import_csv(session, _write(tmp_path, HEADER), now=T0, campaign="nope")


def test_search_sourcing_through_an_injected_function(session: Session) -> None:
    calls: list[tuple[str, int]] = []

    def search(url: str, max_results: int) -> list[dict[str, object]]:
        calls.append((url, max_results))
        return [
            {"linkedin_profile_url": "https://www.linkedin.com/in/Ann/", "full_name": "Ann",
             "linkedin_profile_id": 111, "job_title": "CEO", "location": "Berlin, Germany"},
            {"linkedin_profile_url": "https://www.linkedin.com/in/ann", "linkedin_profile_id": 111},
            {"linkedin_profile_url": "https://www.linkedin.com/in/bob", "linkedin_profile_id": 222},
            {"linkedin_profile_url": "https://www.linkedin.com/in/extra", "linkedin_profile_id": 3},
        ]  # fmt: skip

    url = "https://www.linkedin.com/search/results/people/?keywords=founder"
    report = source_from_search(session, search, url, 3, now=T0)
    assert calls == [(url, 3)]
    assert (report.found, report.created, report.duplicates) == (3, 2, 1)
    ann = _leads(session)[0]
    assert (ann.linkedin_profile_id, ann.source, ann.timezone) == ("111", "search", "Europe/Berlin")
    assert ann.custom_fields == {"job_title": "CEO"}
    with pytest.raises(InputError, match="people search URL"):
        source_from_search(session, search, "https://www.linkedin.com/in/x", 3, now=T0)


def test_export_cell_neutralises_formulas() -> None:
    assert export_csv_cell("=1+1") == "'=1+1"
    assert export_csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert export_csv_cell("+33 6 12") == "'+33 6 12"
    assert export_csv_cell("Jane") == "Jane"
    assert export_csv_cell(None) == ""
