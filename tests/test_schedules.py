"""The calendars in schedules/: faithful to the seeds, validated, listed as JSON."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest

from itabot.calendars.loading import load_dir
from itabot.calendars.model import Calendars
from itabot.cli import main
from itabot.config import PROJECT_ROOT

SCHEDULES = PROJECT_ROOT / "schedules"


def listed(capsys) -> list[dict]:
    assert main(["schedules", "list", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def phase(rows, calendar, pid):
    return next(r for r in rows if r["calendar"] == calendar and r["id"] == pid)


def test_every_calendar_in_the_repo_passes_check(capsys):
    assert main(["schedules", "check"]) == 0
    assert "OK: 6 calendars" in capsys.readouterr().out


def test_list_json_has_the_documented_fields(capsys):
    rows = listed(capsys)
    required = {
        "calendar",
        "fiscal_year",
        "scope",
        "owner",
        "id",
        "title",
        "tool",
        "indicators",
        "detail",
        "notes",
        "responsible",
        "starts_on",
        "ends_on",
        "closes_at",
        "source",
    }
    for row in rows:
        assert required <= row.keys()
        assert isinstance(row["fiscal_year"], int)
        assert row["scope"] in {"national", "province", "agency"}
        assert (row["owner"] is None) == (row["scope"] == "national")
        assert isinstance(row["responsible"], list)
        assert row["closes_at"] is None or row["closes_at"].endswith("+07:00")
        assert row["source"]["file"] and row["source"]["row"]


def _words(text: str) -> str:
    return " ".join(text.split())


def test_every_phase_cites_a_document_in_the_repo_that_holds_its_period_as_written():
    """A citation is only worth something if it can be checked: the cited file is in
    schedules/sources/ and each period and closing sentence, as transcribed, is in it (the
    PDFs' text breaks lines anywhere, so whitespace is not compared)."""
    documents: dict[str, str] = {}
    for cal in Calendars.load(SCHEDULES):
        for ph in cal.phases:
            cited = SCHEDULES / ph.source["file"]
            assert cited.parent == SCHEDULES / "sources" and cited.is_file(), (cal.id, ph.id)
            text = documents.setdefault(cited.name, _words(cited.read_text(encoding="utf-8")))
            for written in (ph.period, ph.closes):
                if written and written != "-":
                    assert _words(written) in text, (cal.id, ph.id, written)


def test_national_itas_closing_times(capsys):
    rows = listed(capsys)
    expected = {
        "registration": "2026-03-31T17:00:00+07:00",
        "iit": "2026-06-30T17:00:00+07:00",
        "eit": "2026-09-30T17:00:00+07:00",
        "oit-answer": "2026-06-30T17:00:00+07:00",
        "oit-check-1": "2026-07-31T17:00:00+07:00",
        "oit-appeal": "2026-08-07T17:00:00+07:00",
        "oit-check-2": "2026-08-21T17:00:00+07:00",
    }
    for pid, closes_at in expected.items():
        assert phase(rows, "national-2569", pid)["closes_at"] == closes_at
    iit = phase(rows, "national-2569", "iit")
    assert iit["ends_on"] == "2026-09-30"  # the period as written, to 30 September
    assert phase(rows, "national-2569", "results")["starts_on"] == "2026-10-01"


def test_surin_overlay_keeps_units_as_written_and_its_two_link_deadlines(capsys):
    rows = listed(capsys)
    registration = phase(rows, "province-surin-2569", "registration")
    assert registration["ends_on"] == "2026-03-20"
    assert registration["responsible"] == ["สนจ.สร.", "สถ.จ.สร.", "อปท. ทุกแห่ง"]
    assert phase(rows, "province-surin-2569", "oit-links-1")["ends_on"] == "2026-05-05"
    assert phase(rows, "province-surin-2569", "oit-links-2")["ends_on"] == "2026-06-05"
    appeal = phase(rows, "province-surin-2569", "oit-appeal-check")
    assert appeal["closes_at"] == "2026-08-07T17:00:00+07:00"
    assert all(r["owner"] == "สุรินทร์" for r in rows if r["calendar"] == "province-surin-2569")


def test_source_errors_are_kept_and_corrected(capsys):
    rows = listed(capsys)
    oit = phase(rows, "agency-khlongpha-2564", "oit-answer")
    assert "๓๑ เมษายน" in oit["period"]  # the source's impossible date, kept
    assert oit["ends_on"] == "2021-04-30"
    assert oit["corrections"] and oit["corrections"][0]["why"]
    second_18 = phase(rows, "province-surin-2569", "follow-up")
    assert second_18["source"]["row"] == "๑๘"
    assert any(c["field"] == "row" for c in second_18["corrections"])


def test_saraburi_has_its_sixteen_activities_and_khuekkhak_ten_indicators(capsys):
    rows = listed(capsys)
    assert len([r for r in rows if r["calendar"] == "province-saraburi-2568"]) == 16
    khuekkhak = [r for r in rows if r["calendar"] == "agency-khuekkhak-2568"]
    assert sorted(i for r in khuekkhak for i in r["indicators"]) == list(range(1, 11))
    assert phase(rows, "agency-khuekkhak-2568", "indicator-2")["responsible"] == ["กองคลัง"]


NEXT_YEAR = """\
calendar: national-2570
title: ปฏิทินการประเมิน ITA ประจำปีงบประมาณ พ.ศ. ๒๕๗๐
fiscal_year: 2570
scope: national
owner: null
source: {file: หนังสือ ป.ป.ช. ที่ ปช 0001/2570}
phases:
  - id: registration
    title: ลงทะเบียนในระบบ ITAS
    tool: registration
    period: วันที่ ๑ - ๓๑ มีนาคม ๒๕๗๐
    closes: ระบบ ITAS จะปิดการลงทะเบียน ในวันพุธที่ ๓๑ มีนาคม ๒๕๗๐ เวลา ๑๖.๓๐ น.
    responsible: [หน่วยงานทุกแห่ง]
    source: {file: หนังสือ ป.ป.ช., row: "๑"}
"""


def test_next_years_calendar_is_one_new_file_with_dates_from_its_thai_text(tmp_path: Path):
    (tmp_path / "national-2570.yaml").write_text(NEXT_YEAR, encoding="utf-8")
    calendars = Calendars.load(tmp_path)
    registration = calendars.get("national-2570").phase("registration")
    assert registration.starts_on == date(2027, 3, 1)
    assert registration.ends_on == date(2027, 3, 31)
    assert registration.closes_at.isoformat() == "2027-03-31T16:30:00+07:00"


@pytest.mark.parametrize(
    ("edit", "complaint"),
    [
        (("period: วันที่ ๑ - ๓๑ มีนาคม ๒๕๗๐", "period: วันที่ ๑ - ๓๑ เมษายน ๒๕๗๐"), "registration"),
        (("period: วันที่ ๑ - ๓๑ มีนาคม ๒๕๗๐", "period: วันที่ ๑ - ๓๑ มีนาคม ๒๕๘๐"), "นอกปีงบประมาณ"),
        (("tool: registration", "tool: ลงทะเบียน"), "tool"),
        (('source: {file: หนังสือ ป.ป.ช., row: "๑"}', "source: {}"), "source"),
        (("วันพุธที่ ๓๑", "วันจันทร์ที่ ๓๑"), "registration"),
        (("calendar: national-2570", "calendar: national-2571"), "ชื่อไฟล์"),
        (("phases:", "phases: [\n"), "YAML"),
    ],
)
def test_check_names_file_phase_and_problem(tmp_path: Path, edit, complaint):
    old, new = edit
    (tmp_path / "national-2570.yaml").write_text(NEXT_YEAR.replace(old, new), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "itabot", "schedules", "check", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert result.returncode == 1
    assert "national-2570.yaml" in result.stderr
    assert complaint in result.stderr


def test_explicit_dates_that_disagree_with_the_period_are_refused(tmp_path: Path):
    text = NEXT_YEAR.replace(
        "    tool: registration\n", "    tool: registration\n    ends_on: 2027-03-30\n"
    )
    (tmp_path / "national-2570.yaml").write_text(text, encoding="utf-8")
    _, problems = load_dir(tmp_path)
    assert any("ends_on" in str(p) and p.phase == "registration" for p in problems)


def test_cli_list_plain_text_names_each_phase(capsys):
    assert main(["schedules", "list"]) == 0
    out = capsys.readouterr().out
    assert "national-2569" in out and "oit-answer" in out


def test_next_years_file_loads_beside_this_years(tmp_path: Path):
    """The README's promise: next year's calendar is a new YAML file and nothing else."""
    text = textwrap.dedent(NEXT_YEAR)
    (tmp_path / "national-2570.yaml").write_text(text, encoding="utf-8")
    for src in SCHEDULES.glob("*.yaml"):
        (tmp_path / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    calendars = Calendars.load(tmp_path)
    assert {c.fiscal_year for c in calendars} >= {2569, 2570}
