"""Two sets of realistic staff questions through `python -m itabot chat --at … [--province …]
[--agency …]`, each answered with the right date, time and unit in ≥ 90 % of cases (aim: all).

Written from the seeds (schedules/sources/), never from the bot's output:
- set 1, FY2569: seed 001 (Surin plan; its NACC column is the national calendar): registration
  2–31 Mar 2569, ITAS closes 31 Mar 17.00 (Surin: by 20 Mar); OIT LINKs to the province by 5 May
  and 5 Jun; OIT answer/approval closes 30 Jun 17.00 (Surin: by 10 Jun); IIT input closes 30 Jun
  17.00; EIT closes 30 Sep 17.00, collected by a Third Party; Surin publishes data 1–15 Jul; NACC
  checks OIT round 1 on 1–31 Jul (closes 31 Jul 17.00); appeal 1–7 Aug (closes 7 Aug 17.00);
  round 2 on 8–21 Aug; results 1–31 Oct 2569; Surin's rows ๑ ๓ ๔ in March, ๕ publicity to 10 Sep
  (สำนักงานประชาสัมพันธ์จังหวัดสุรินทร์), ๗ stakeholder database to 15 Jun.
- set 2, other years and plans: seed 004 (Saraburi FY2568, month-level periods), seed 002
  (เทศบาลตำบลคึกคัก FY2568, per indicator), seed 003 (อบต.หนองพลับ FY2569), seed 000 (อบต.คลองพา
  FY2564: registration Feb–Mar 2564, OIT Mar–Apr, IIT/EIT Apr–May, check May, appeal Jun,
  report Jul, results Aug 2564).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from itabot import cli
from itabot.config import PROJECT_ROOT

SURIN, SARABURI = "สุรินทร์", "สระบุรี"
KHUEKKHAK = "เทศบาลตำบลคึกคัก"
NONGPHLAP = "องค์การบริหารส่วนตำบลหนองพลับ"
KHLONGPHA = "องค์การบริหารส่วนตำบลคลองพา"

# (at, province, agency, question, facts the answer must carry)
# fmt: off
SET_1 = [
    ("2026-03-10T09:00", SURIN, None, "ลงทะเบียน ITAS ปิดวันไหนครับ", ["31 มีนาคม 2569", "17.00 น.", "20 มีนาคม 2569"]),
    ("2026-03-10T09:00", SURIN, None, "จังหวัดให้ลงทะเบียนให้เสร็จวันไหน", ["20 มีนาคม 2569"]),
    ("2026-03-10T09:00", SURIN, None, "ใครต้องลงทะเบียนบ้าง", ["สนจ.สร.", "ผู้ดูแลระบบ"]),
    ("2026-04-20T09:00", SURIN, None, "ส่งลิงก์ OIT ให้จังหวัดครั้งแรกวันไหน", ["5 พฤษภาคม 2569"]),
    ("2026-05-20T09:00", SURIN, None, "ส่ง link OIT รอบสองภายในวันไหนคะ", ["5 มิถุนายน 2569"]),
    ("2026-06-20T09:00", SURIN, None, "OIT ปิดวันไหน", ["30 มิถุนายน 2569", "17.00 น."]),
    ("2026-06-05T09:00", SURIN, None, "ตอบและอนุมัติ OIT จังหวัดให้เสร็จเมื่อไหร่", ["10 มิถุนายน 2569"]),
    ("2026-06-20T09:00", None, None, "IIT หมดเขตวันไหนครับ", ["30 มิถุนายน 2569", "17.00 น."]),
    ("2026-06-20T09:00", None, None, "EIT ปิดกี่โมง", ["30 กันยายน 2569", "17.00 น."]),
    ("2026-06-20T09:00", None, None, "ใครเก็บข้อมูล EIT", ["Third Party"]),
    ("2026-07-02T09:00", SURIN, None, "OIT ปิดไปแล้วใช่ไหม ต่อไปต้องทำอะไร", ["7 สิงหาคม 2569"]),
    ("2026-07-02T09:00", SURIN, None, "เปิดเผยข้อมูลบนเว็บไซต์ต้องเสร็จวันไหน", ["15 กรกฎาคม 2569"]),
    ("2026-07-20T09:00", SURIN, None, "ป.ป.ช. ตรวจ OIT รอบแรกเสร็จเมื่อไหร่", ["31 กรกฎาคม 2569"]),
    ("2026-07-20T09:00", SURIN, None, "ชี้แจงเพิ่มเติม OIT ได้ช่วงไหน", ["1 - 7 สิงหาคม 2569", "17.00 น."]),
    ("2026-08-03T09:00", SURIN, None, "บันทึกคำชี้แจงในระบบ ITAS ถึงกี่โมง", ["7 สิงหาคม 2569", "17.00 น."]),
    ("2026-08-10T09:00", None, None, "ตรวจ OIT รอบ 2 เสร็จวันไหน", ["21 สิงหาคม 2569"]),
    ("2026-09-10T09:00", None, None, "ประกาศผล ITA เมื่อไหร่", ["ตุลาคม 2569"]),
    ("2026-03-10T09:00", SURIN, None, "ประชุมชี้แจงหลักเกณฑ์ให้บุคลากรเดือนไหน", ["มีนาคม 2569"]),
    ("2026-03-10T09:00", SURIN, None, "ประชาสัมพันธ์ ITA ใครรับผิดชอบ", ["ประชาสัมพันธ์จังหวัดสุรินทร์"]),
    ("2026-03-10T09:00", SURIN, None, "โครงการยกระดับคะแนน ITA จังหวัดใครรับผิดชอบ", ["สนจ.สร."]),
    ("2026-03-10T09:00", SURIN, None, "ฐานข้อมูลผู้มีส่วนได้ส่วนเสียส่งถึงวันไหน", ["15 มิถุนายน 2569"]),
    ("2026-06-24T09:00", SURIN, None, "อาทิตหน้ามีอะไรปิดบ้าง", ["30 มิถุนายน 2569"]),
    ("2026-06-29T09:00", None, None, "พรุงนี้มีอะไรปิด", ["30 มิถุนายน 2569", "17.00 น."]),
    ("2026-06-30T09:00", None, None, "วันนี้มีอะไรปิดบ้างคะ", ["30 มิถุนายน 2569", "17.00 น."]),
    ("2026-08-03T09:00", None, None, "ตอนนี้อยู่ช่วงไหน", ["ชี้แจงเพิ่มเติม", "7 สิงหาคม 2569"]),
    ("2026-02-15T09:00", None, None, "ลงทะเบียนเริ่มวันไหน", ["2 มีนาคม 2569"]),
    ("2026-02-15T09:00", None, None, "IIT เปิดเมื่อไหร่", ["2 มีนาคม 2569"]),
    ("2026-08-20T09:00", SURIN, None, "ยังเหลืออะไรต้องทำบ้าง", ["10 กันยายน 2569"]),
    ("2026-06-20T09:00", SURIN, None, "ตัวชี้วัดที่ ๙ ใครรับผิดชอบ", ["อปท. ทุกแห่ง"]),
    ("2026-06-20T09:00", None, None, "กำหนดการถัดไป", ["30 มิถุนายน 2569"]),
    ("2026-06-20T09:00", SURIN, None, "OIT เหลือกี่วัน", ["อีก 10 วัน", "30 มิถุนายน 2569"]),
    ("2026-07-02T09:00", SURIN, None, "ดูคะแนน OIT ได้วันไหน", ["1 - 7 สิงหาคม 2569"]),
]
SET_2 = [
    ("2024-11-15T09:00", SARABURI, None, "คำสั่งแต่งตั้งคณะกรรมการ ITA ออกเมื่อไหร่", ["ธันวาคม 2567"]),
    ("2024-11-15T09:00", SARABURI, None, "มอบหมายเจ้าหน้าที่เป็นกรรมการ ITA จังหวัดภายในเมื่อไหร่", ["30 พฤศจิกายน 2567"]),
    ("2024-12-10T09:00", SARABURI, None, "ลงพื้นที่ให้คำปรึกษา อปท. ถึงเมื่อไหร่", ["28 กุมภาพันธ์ 2568"]),
    ("2024-12-10T09:00", SARABURI, None, "ประชุมชี้แจงแนวทางขับเคลื่อน ITA ใครจัด", ["สำนักงานจังหวัดสระบุรี"]),
    ("2025-01-10T09:00", SARABURI, None, "ประชุมยกระดับคะแนน ITA สำหรับแอดมินเดือนไหน", ["มกราคม 2568"]),
    ("2025-02-03T09:00", SARABURI, None, "ประชุมชี้แจงการจัดเก็บข้อมูล EIT เมื่อไหร่", ["กุมภาพันธ์ 2568"]),
    ("2025-03-05T09:00", SARABURI, None, "ประชุมรายงานสถานะ ITA วันไหน", ["31 มีนาคม 2568"]),
    ("2025-04-01T09:00", SARABURI, None, "เร่งรัดตอบและอนุมัติ OIT ถึงวันไหน", ["30 เมษายน 2568"]),
    ("2025-06-01T09:00", SARABURI, None, "ติดตามเร่งรัดเก็บข้อมูล IIT EIT ถึงเมื่อไหร่", ["30 มิถุนายน 2568"]),
    ("2025-08-20T09:00", SARABURI, None, "ประชุมแจ้งผล ITA ปี 68 เมื่อไหร่", ["กันยายน 2568"]),
    ("2025-01-10T09:00", SARABURI, None, "ติดตามการลงทะเบียน ITAS ถึงวันไหน", ["31 มกราคม 2568"]),
    ("2025-04-10T09:00", SARABURI, None, "ใครลงพื้นที่เร่งรัด อปท. ที่ยังไม่ตอบ OIT", ["สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดสระบุรี"]),
    ("2025-01-15T09:00", None, KHUEKKHAK, "ตัวชี้วัดที่ 2 ใครรับผิดชอบ", ["กองคลัง"]),
    ("2025-01-15T09:00", None, KHUEKKHAK, "ตัวชี้วัดที่ ๓ ต้องเสร็จเมื่อไหร่", ["31 มกราคม 2568"]),
    ("2025-01-15T09:00", None, KHUEKKHAK, "การใช้ทรัพย์สินของราชการใครดูแล", ["สำนักปลัด"]),
    ("2025-01-15T09:00", None, KHUEKKHAK, "ตัวชี้วัด 7 เริ่มเมื่อไหร่", ["1 กุมภาพันธ์ 2568"]),
    ("2025-01-15T09:00", None, KHUEKKHAK, "คู่มือผลประโยชน์ทับซ้อนเสร็จเมื่อไหร่", ["31 มกราคม 2568", "สำนักปลัด"]),
    ("2025-01-15T09:00", None, KHUEKKHAK, "OIT ของเทศบาลต้องเสร็จเมื่อไหร่", ["31 มีนาคม 2568"]),
    ("2025-01-15T09:00", None, KHUEKKHAK, "ตัวชี้วัดที่ 6 หมดเขตวันไหน", ["30 เมษายน 2568"]),
    ("2025-01-15T09:00", None, KHUEKKHAK, "กำหนดการถัดไป", ["31 มกราคม 2568"]),
    ("2026-03-10T09:00", None, NONGPHLAP, "ตัวชี้วัดที่ 4 ใครรับผิดชอบ", ["งานบริหารงานทั่วไป"]),
    ("2026-03-10T09:00", None, NONGPHLAP, "ประชุมประชาคมรับฟังความคิดเห็นใครทำ", ["งานแผนงาน"]),
    ("2026-03-10T09:00", None, NONGPHLAP, "OIT ปิดวันไหน", ["30 มิถุนายน 2569", "17.00 น."]),
    ("2026-03-10T09:00", None, NONGPHLAP, "ลงทะเบียน ITAS ปิดวันไหน", ["31 มีนาคม 2569", "17.00 น."]),
    ("2026-03-10T09:00", None, NONGPHLAP, "ตัวชี้วัดที่ ๑ ใครรับผิดชอบ", ["งานการเจ้าหน้าที่"]),
    ("2021-03-10T09:00", None, KHLONGPHA, "OIT ปิดวันไหน", ["30 เมษายน 2564"]),
    ("2021-03-10T09:00", None, KHLONGPHA, "ลงทะเบียนหมดเขตเมื่อไหร่", ["31 มีนาคม 2564"]),
    ("2021-05-10T09:00", None, KHLONGPHA, "IIT ปิดวันไหน", ["31 พฤษภาคม 2564"]),
    ("2021-06-05T09:00", None, KHLONGPHA, "ชี้แจงเพิ่มเติม OIT ถึงวันไหน", ["30 มิถุนายน 2564"]),
    ("2021-06-05T09:00", None, KHLONGPHA, "ประกาศผลเมื่อไหร่", ["สิงหาคม 2564"]),
    ("2026-06-20T09:00", None, KHLONGPHA, "OIT หมดเขตวันไหน", ["30 มิถุนายน 2569", "17.00 น."]),
    ("2025-06-01T09:00", None, KHUEKKHAK, "OIT หมดเขตวันไหน", ["30 มิถุนายน 2569", "ปีงบประมาณ พ.ศ. 2569"]),
    ("2021-03-10T09:00", None, KHLONGPHA, "ใครรับผิดชอบ EIT", ["คณะที่ปรึกษาการประเมิน"]),
]
# fmt: on


def chat(capsys, at: str, province: str | None, agency: str | None, question: str) -> str:
    argv = ["chat", "--at", f"{at}+07:00"]
    if province:
        argv += ["--province", province]
    if agency:
        argv += ["--agency", agency]
    assert cli.main([*argv, question]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("questions", [SET_1, SET_2], ids=["fy2569-surin-national", "other-plans"])
def test_a_set_of_staff_questions_is_answered_right(capsys, questions):
    assert len(questions) >= 30
    wrong = []
    for at, province, agency, question, facts in questions:
        out = chat(capsys, at, province, agency, question)
        if not all(fact in out for fact in facts):
            wrong.append(f"{question} @ {at} {province or agency or ''}: {facts}\n{out}")
    right = 1 - len(wrong) / len(questions)
    assert right >= 0.9, "\n".join(wrong)
    assert not wrong, "\n".join(wrong)  # the aim: every one of them


def test_the_console_is_the_real_command():
    """`python -m itabot chat` as the held-out check runs it (one process)."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "itabot",
            "chat",
            "--at",
            "2026-07-02T09:00+07:00",
            "--province",
            SURIN,
            "OIT ปิดวันไหน",
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        timeout=60,
        check=True,
    ).stdout
    assert "1 - 7 สิงหาคม 2569" in out and "7 สิงหาคม 2569 เวลา 17.00 น." in out
