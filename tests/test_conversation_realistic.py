"""Realistic staff questions at fixed times, with the facts the answer must carry.

Every expected date, time, countdown and unit below was read off the seed documents
(schedules/sources/*.txt), NOT off the engine's output:

seed 001 — Surin FY2569, NACC column ("ช่วงระยะเวลา (สำนักงาน ป.ป.ช.)") → ITAS closings:
  row ๒  registration              ITAS closes Tue 31 Mar 2569 17.00   (Surin column: 2–20 Mar 2569)
  row ๖  IIT (period to 30 Sep)     ITAS closes IIT input Tue 30 Jun 2569 17.00
  row ๘  EIT                        ITAS closes Wed 30 Sep 2569 17.00
  row ๙  OIT preparation            to 30 Jun 2569 (Surin: to 10 Jun 2569; LINKs to the
                                    province: #1 by 5 May 2569, #2 by 5 Jun 2569)
  row ๑๐ OIT answer + approval      ITAS closes Tue 30 Jun 2569 17.00 (Surin: to 10 Jun 2569)
  row ๑๑ (Surin only) publish data  1–15 Jul 2569
  row ๑๒ NACC checks OIT round 1    1–31 Jul, ITAS closes Fri 31 Jul 2569 17.00
  row ๑๓ OIT appeal (ชี้แจงเพิ่มเติม) 1–7 Aug, ITAS closes Fri 7 Aug 2569 17.00
  row ๑๔ (Surin only) record appeal within 7 Aug 2569 17.00
  row ๑๕ NACC checks OIT round 2    8–21 Aug, ITAS closes Fri 21 Aug 2569 17.00
  row ๑๖ screening 22 Aug–30 Sep; row ๑๗ processing 1–30 Sep; row ๑๘ results 1–31 Oct 2569
  units (หมายเหตุ column): ๒ สนจ.สร./สถ.จ.สร./อปท. ทุกแห่ง; ๕ สำนักงานประชาสัมพันธ์จังหวัดสุรินทร์;
  ๗ ทุกส่วนราชการ/อปท. ทุกแห่ง; ๘ สนจ.สร./สจ.จ.สร.(=สถ.จ.สร.)/อปท. ทุกแห่ง; ๙ ทุกส่วนราชการ/อปท. ทุกแห่ง;
  ๑๐ สนจ.สร./อปท. ทุกแห่ง; ๑๓ สนจ.สร/อปท. ทุกแห่ง; ๑๔ ทุกส่วนราชการ/อปท. ทุกแห่ง.
  Row ๑๐ text: Admin answers, the executive (ผู้บริหาร) approves. Row ๘: a Third Party collects EIT.
seed 002 — เทศบาลตำบลคึกคัก FY2568 per indicator: ๒ กองคลัง; ๓ ๔ ๕ ๗ สำนักปลัดฯ; ๑ ๖ ๘ ๙ ๑๐ ทุกส่วนราชการ.
seed 003 — อบต.หนองพลับ FY2569: IIT row ๑ (ind. 1–5) งานการเจ้าหน้าที่สำนักปลัด อบต. + งานนิติการ
  สำนักปลัด อบต.; IIT row 2 (ind. 4) งานบริหารงานทั่วไป สำนักปลัด อบต.; EIT rows (ind. 6–8) งาน
  การเจ้าหน้าที่ / งานบริหารทั่วไป / งานแผนงาน และงบประมาณ สำนักปลัด อบต.; OIT ทุกส่วนราชการ.
seed 000 — อบต.คลองพา FY2564 and seed 004 — Saraburi FY2568: all in the past in FY2569, so
  in 2026 those chats get the NACC FY2569 dates.

Countdowns are whole Bangkok calendar days from the question's day to the closing day.
The bot's long date form is "วันอังคารที่ 30 มิถุนายน 2569", with "เวลา 17.00 น." when the
source states a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import pytest

from itabot.conversation.answer import Context
from itabot.conversation.replies import answer
from tests.conftest import bkk

SURIN = "สุรินทร์"
SARABURI = "สระบุรี"
KHUEKKHAK = "เทศบาลตำบลคึกคัก"
NONGPHLAP = "องค์การบริหารส่วนตำบลหนองพลับ"
KHLONGPHA = "องค์การบริหารส่วนตำบลคลองพา"

# The facts, as the bot writes them.
REG_ITAS = "31 มีนาคม 2569 เวลา 17.00 น."
REG_SURIN = "20 มีนาคม 2569"
IIT_ITAS = "30 มิถุนายน 2569 เวลา 17.00 น."
OIT_ITAS = "30 มิถุนายน 2569 เวลา 17.00 น."
OIT_SURIN = "10 มิถุนายน 2569"
LINK_1 = "5 พฤษภาคม 2569"
LINK_2 = "5 มิถุนายน 2569"
PUBLISH_SURIN = "15 กรกฎาคม 2569"
CHECK_1 = "31 กรกฎาคม 2569 เวลา 17.00 น."
APPEAL = "7 สิงหาคม 2569 เวลา 17.00 น."
CHECK_2 = "21 สิงหาคม 2569 เวลา 17.00 น."
EIT_ITAS = "30 กันยายน 2569 เวลา 17.00 น."
RESULTS_END = "31 ตุลาคม 2569"
NOTHING = "ยังไม่มีกำหนดการ"
EXAMPLE = "OIT ปิดวันไหน"


@dataclass(frozen=True)
class Case:
    question: str
    now: datetime
    province: str | None = None
    agency: str | None = None
    expect: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()
    expect_re: tuple[str, ...] = ()
    intent: str | None = None
    max_len: int | None = None


def c(
    question,
    now,
    *expect,
    province=None,
    agency=None,
    forbid=(),
    expect_re=(),
    intent=None,
    max_len=None,
):
    return Case(
        question,
        now,
        province,
        agency,
        tuple(expect),
        tuple(forbid),
        tuple(expect_re),
        intent,
        max_len,
    )


def case(id_, kase):
    return pytest.param(kase, id=id_)


JUN20 = bkk(2026, 6, 20, 9, 0)
MAR10 = bkk(2026, 3, 10, 9, 0)

CASES = [
    # --- when does a tool / step close: OIT ------------------------------------------------
    case(
        "oit-plain",
        c("OIT ปิดวันไหน", JUN20, OIT_ITAS, "อีก 10 วัน", "วันอังคารที่ 30 มิถุนายน 2569", intent="closing"),
    ),
    case(
        "oit-polite-when-submit",
        c("ขอถามหน่อยครับ OIT ต้องส่งภายในวันไหน", JUN20, OIT_ITAS, "อีก 10 วัน", intent="closing"),
    ),
    case("oit-lower-nospace-kha", c("oitปิดวันไหนคะ", JUN20, OIT_ITAS, "อีก 10 วัน", intent="closing")),
    case(
        "oit-spaced-letters", c("O I T ปิดวันไหนครับ", JUN20, OIT_ITAS, "อีก 10 วัน", intent="closing")
    ),
    case(
        "oit-how-many-days-left", c("OIT เหลือกี่วันคะ", JUN20, OIT_ITAS, "อีก 10 วัน", intent="closing")
    ),
    case("oit-typo-waiyai", c("OIT ปิดวันใหนครับ", JUN20, OIT_ITAS, "อีก 10 วัน", intent="closing")),
    case(
        "oit-thai-transliteration",
        c("โอไอทีปิดวันไหนครับ", JUN20, OIT_ITAS, "อีก 10 วัน", intent="closing"),
    ),
    case(
        "oit-zero-for-o",
        c("0IT ปิดวันไหน", JUN20, OIT_ITAS, "อีก 10 วัน", intent="closing"),
    ),
    case(
        "oit-thai-words",
        c("แบบวัดการเปิดเผยข้อมูลสาธารณะปิดเมื่อไหร่", JUN20, OIT_ITAS, "อีก 10 วัน", intent="closing"),
    ),
    case(
        "oit-indicator-9-when",
        c("ตัวชี้วัดที่ 9 ต้องเสร็จเมื่อไหร่", JUN20, OIT_ITAS, "อีก 10 วัน", intent="closing"),
    ),
    case(
        "oit-saraburi",
        c("OIT ปิดวันไหน", JUN20, OIT_ITAS, "อีก 10 วัน", province=SARABURI, intent="closing"),
    ),
    case(
        "oit-khlongpha-2026",
        c(
            "OIT หมดเขตวันไหนคะ",
            JUN20,
            OIT_ITAS,
            "อีก 10 วัน",
            agency=KHLONGPHA,
            forbid=("2564",),
            intent="closing",
        ),
    ),
    case(
        "oit-khuekkhak-2026",
        c("OIT ปิดวันไหนนะ", JUN20, OIT_ITAS, "อีก 10 วัน", agency=KHUEKKHAK, intent="closing"),
    ),
    case(
        "oit-nongphlap",
        c("OIT ปิดวันไหนคับ", JUN20, OIT_ITAS, "อีก 10 วัน", agency=NONGPHLAP, intent="closing"),
    ),
    case(
        "oit-surin-jun20",
        c("OIT ปิดวันไหน", JUN20, OIT_ITAS, "อีก 10 วัน", province=SURIN, intent="closing"),
    ),
    case(
        "oit-surin-jun20-mentions-passed-province-deadline",
        c("OIT ปิดวันไหน", JUN20, OIT_ITAS, OIT_SURIN, province=SURIN, intent="closing"),
    ),
    case(
        "oit-surin-april-both",
        c(
            "OIT ปิดวันไหนครับ",
            bkk(2026, 4, 20, 10, 0),
            LINK_1,
            "อีก 15 วัน",
            OIT_SURIN,
            "อีก 51 วัน",
            OIT_ITAS,
            "อีก 71 วัน",
            province="จ.สุรินทร์",
            intent="closing",
        ),
    ),
    case(
        "oit-surin-june1-both",
        c(
            "OIT จังหวัดให้ส่งวันไหน",
            bkk(2026, 6, 1, 8, 30),
            LINK_2,
            "อีก 4 วัน",
            OIT_SURIN,
            "อีก 9 วัน",
            OIT_ITAS,
            "อีก 29 วัน",
            province=SURIN,
            intent="closing",
        ),
    ),
    case(
        "oit-surin-june8",
        c(
            "OIT ต้องส่งภายในวันที่เท่าไหร่คะ",
            bkk(2026, 6, 8, 9, 0),
            OIT_SURIN,
            "อีก 2 วัน",
            OIT_ITAS,
            "อีก 22 วัน",
            province="จังหวัดสุรินทร์",
            intent="closing",
        ),
    ),
    case(
        "oit-surin-province-day",
        c(
            "oit ยังทันไหมคะ",
            bkk(2026, 6, 10, 9, 0),
            OIT_SURIN,
            "วันนี้",
            OIT_ITAS,
            "อีก 20 วัน",
            province=SURIN,
            intent="closing",
        ),
    ),
    case(
        "oit-closing-day-morning", c("OIT ปิดวันนี้ใช่ไหมครับ", bkk(2026, 6, 30, 9, 0), OIT_ITAS, "วันนี้")
    ),
    case(
        "oit-just-after-itas-close",
        c(
            "OIT ปิดวันไหน",
            bkk(2026, 6, 30, 17, 30),
            OIT_ITAS,
            "ปิดไปแล้ว",
            forbid=("(วันนี้)",),
            intent="closing",
        ),
    ),
    case(
        "oit-surin-july-after-close",
        c(
            "OIT ปิดวันไหน",
            bkk(2026, 7, 5, 9, 0),
            OIT_ITAS,
            "ปิดไปแล้ว",
            province=SURIN,
            intent="closing",
        ),
    ),
    case(
        "oit-after-everything",
        c("OIT ปิดวันไหน", bkk(2026, 11, 15, 9, 0), OIT_ITAS, "ปิดไปแล้ว", intent="closing"),
    ),
    case(
        "oit-surin-after-everything",
        c(
            "OIT ปิดวันไหน",
            bkk(2026, 11, 15, 9, 0),
            OIT_ITAS,
            "ปิดไปแล้ว",
            province=SURIN,
            intent="closing",
        ),
    ),
    # --- Surin's LINK deadlines --------------------------------------------------------------
    case(
        "links-1-surin",
        c(
            "ส่ง link oit ให้จังหวัดครั้งแรกวันไหน",
            bkk(2026, 4, 1, 9, 0),
            LINK_1,
            "อีก 34 วัน",
            province=SURIN,
            intent="closing",
        ),
    ),
    case(
        "links-2-surin",
        c(
            "ส่งลิ้งค์ OIT ครั้งที่ 2 ถึงวันไหนครับ",
            bkk(2026, 5, 10, 9, 0),
            LINK_2,
            "อีก 26 วัน",
            province=SURIN,
            intent="closing",
        ),
    ),
    case(
        "links-1-today",
        c("ส่งลิงก์ OIT วันนี้วันสุดท้ายใช่ไหม", bkk(2026, 5, 5, 9, 0), LINK_1, "วันนี้", province=SURIN),
    ),
    # --- IIT ---------------------------------------------------------------------------------
    case("iit-kha-time", c("iitปิดกี่โมงคะ", JUN20, IIT_ITAS, "อีก 10 วัน", intent="closing")),
    case("iit-deadline", c("IIT หมดเขตเมื่อไร", JUN20, IIT_ITAS, "อีก 10 วัน", intent="closing")),
    case(
        "iit-thai-words", c("แบบวัดภายในหมดเขตวันไหน", JUN20, IIT_ITAS, "อีก 10 วัน", intent="closing")
    ),
    case(
        "iit-thai-transliteration",
        c("ไอไอทีปิดวันไหนคะ", JUN20, IIT_ITAS, "อีก 10 วัน", intent="closing"),
    ),
    case(
        "iit-still-in-time-closing-day",
        c("IIT ยังทันไหมคะ", bkk(2026, 6, 30, 16, 0), IIT_ITAS, "วันนี้", intent="closing"),
    ),
    case(
        "iit-surin-no-sept-date",
        c(
            "IIT ปิดวันไหน",
            JUN20,
            IIT_ITAS,
            "อีก 10 วัน",
            province=SURIN,
            forbid=("30 กันยายน 2569",),
            intent="closing",
        ),
    ),
    case(
        "iit-surin-after-close",
        c(
            "IIT ถึงวันไหนครับ",
            bkk(2026, 7, 5, 9, 0),
            IIT_ITAS,
            "ปิดไปแล้ว",
            province=SURIN,
            forbid=("30 กันยายน 2569",),
            intent="closing",
        ),
    ),
    case(
        "iit-nongphlap-after-close",
        c(
            "IIT ปิดวันไหน",
            bkk(2026, 7, 5, 9, 0),
            IIT_ITAS,
            "ปิดไปแล้ว",
            agency=NONGPHLAP,
            intent="closing",
        ),
    ),
    case(
        "iit-and-eit-together",
        c("IIT กับ EIT ปิดวันไหนครับ", JUN20, IIT_ITAS, EIT_ITAS, intent="closing"),
    ),
    # --- EIT ---------------------------------------------------------------------------------
    case(
        "eit-pee-expired-yet", c("พี่ๆ EIT หมดเขตยัง", JUN20, EIT_ITAS, "อีก 102 วัน", intent="closing")
    ),
    case(
        "eit-what-time", c("EIT ปิดกี่โมง", JUN20, EIT_ITAS, "วันพุธที่ 30 กันยายน 2569", intent="closing")
    ),
    case(
        "eit-service-users",
        c("แบบวัดผู้รับบริการปิดเมื่อไหร่คะ", JUN20, EIT_ITAS, "อีก 102 วัน", intent="closing"),
    ),
    case(
        "eit-thai-transliteration",
        c("อีไอที หมดเขตเมื่อไหร่", JUN20, EIT_ITAS, "อีก 102 วัน", intent="closing"),
    ),
    case(
        "eit-khlongpha-sept",
        c(
            "EIT ปิดวันไหน",
            bkk(2026, 9, 1, 9, 0),
            EIT_ITAS,
            "อีก 29 วัน",
            agency=KHLONGPHA,
            forbid=("2564",),
            intent="closing",
        ),
    ),
    case(
        "eit-surin",
        c(
            "EITปิดวันไหนครับ",
            bkk(2026, 9, 5, 9, 0),
            EIT_ITAS,
            "อีก 25 วัน",
            province=SURIN,
            intent="closing",
        ),
    ),
    case(
        "eit-closed",
        c("EIT หมดเขตยังครับ", bkk(2026, 10, 2, 9, 0), EIT_ITAS, "ปิดไปแล้ว", intent="closing"),
    ),
    # --- registration ------------------------------------------------------------------------
    case(
        "reg-itas",
        c(
            "ลงทะเบียน ITAS ปิดวันไหน",
            MAR10,
            REG_ITAS,
            "อีก 21 วัน",
            "วันอังคารที่ 31 มีนาคม 2569",
            intent="closing",
        ),
    ),
    case(
        "reg-thai-itas", c("ลงทะเบียนไอทีเอเอสถึงวันไหน", MAR10, REG_ITAS, "อีก 21 วัน", intent="closing")
    ),
    case(
        "reg-typo-nospace", c("ลงทะเบียญitasปิดวันไร", MAR10, REG_ITAS, "อีก 21 วัน", intent="closing")
    ),
    case("reg-khap", c("ลงทะเบียนหมดเขตวันที่เท่าไหร่คับ", MAR10, REG_ITAS, "อีก 21 วัน", intent="closing")),
    case("reg-english", c("register ITAS deadline", MAR10, REG_ITAS, "อีก 21 วัน", intent="closing")),
    case(
        "reg-surin-both",
        c(
            "ลงทะเบียน ITAS ปิดวันไหนครับ",
            MAR10,
            REG_SURIN,
            "อีก 10 วัน",
            REG_ITAS,
            "อีก 21 วัน",
            province=SURIN,
            intent="closing",
        ),
    ),
    case(
        "reg-surin-20mar",
        c(
            "ลงทะเบียน ITAS ปิดวันไหน",
            bkk(2026, 3, 20, 8, 0),
            REG_SURIN,
            "วันนี้",
            REG_ITAS,
            "อีก 11 วัน",
            province=SURIN,
            intent="closing",
        ),
    ),
    case(
        "reg-surin-province-day-window",
        c(
            "ลงทะเบียนวันนี้วันสุดท้ายของจังหวัดใช่มั้ย",
            bkk(2026, 3, 20, 8, 0),
            REG_SURIN,
            "วันนี้",
            REG_ITAS,
            "อีก 11 วัน",
            province=SURIN,
        ),
    ),
    case(
        "reg-surin-after-province-deadline",
        c(
            "ลงทะเบียน ITAS ยังทันไหมคะ",
            bkk(2026, 3, 25, 9, 0),
            REG_ITAS,
            "อีก 6 วัน",
            REG_SURIN,
            province=SURIN,
            intent="closing",
        ),
    ),
    case(
        "reg-saraburi",
        c("ลงทะเบียนปิดวันไหน", MAR10, REG_ITAS, "อีก 21 วัน", province=SARABURI, intent="closing"),
    ),
    case(
        "reg-closed-june", c("ลงทะเบียน ITAS ปิดวันไหน", JUN20, REG_ITAS, "ปิดไปแล้ว", intent="closing")
    ),
    # --- OIT appeal --------------------------------------------------------------------------
    case("appeal-plain", c("ชี้แจง OIT ถึงวันไหน", JUN20, APPEAL, "อีก 48 วัน", intent="closing")),
    case(
        "appeal-nospace-kha",
        c("ชี้แจงoitถึงวันไหนคะ", bkk(2026, 8, 3, 10, 0), APPEAL, "อีก 4 วัน", intent="closing"),
    ),
    case(
        "appeal-argue-score",
        c("อุทธรณ์คะแนน OIT ได้ถึงวันไหน", bkk(2026, 8, 5, 9, 0), APPEAL, "อีก 2 วัน", intent="closing"),
    ),
    case(
        "appeal-typo-chaeng",
        c("ชี้แจ้ง OIT ได้ถึงเมื่อไหร่", bkk(2026, 8, 3, 10, 0), APPEAL, "อีก 4 วัน", intent="closing"),
    ),
    case("appeal-today", c("ชี้แจงเพิ่มเติม OIT วันนี้ปิดกี่โมง", bkk(2026, 8, 7, 9, 0), APPEAL, "วันนี้")),
    case(
        "appeal-surin",
        c(
            "ชี้แจง OIT ถึงวันไหน",
            bkk(2026, 7, 15, 9, 0),
            APPEAL,
            "อีก 23 วัน",
            province=SURIN,
            intent="closing",
        ),
    ),
    case(
        "appeal-closed-evening",
        c("ชี้แจง OIT ยังทันไหม", bkk(2026, 8, 7, 18, 0), APPEAL, "ปิดไปแล้ว", intent="closing"),
    ),
    # --- OIT checking rounds -----------------------------------------------------------------
    case(
        "check-round-1",
        c(
            "ตรวจ OIT รอบแรกเสร็จวันไหน",
            bkk(2026, 7, 10, 9, 0),
            CHECK_1,
            "อีก 21 วัน",
            intent="closing",
        ),
    ),
    case(
        "check-round-2",
        c(
            "ตรวจให้คะแนน OIT รอบ 2 เสร็จเมื่อไหร่",
            bkk(2026, 8, 10, 9, 0),
            CHECK_2,
            "อีก 11 วัน",
            intent="closing",
        ),
    ),
    case(
        "check-round-2-only",
        c(
            "ป.ป.ช. ตรวจ OIT รอบ ๒ ปิดวันไหน",
            bkk(2026, 7, 10, 9, 0),
            CHECK_2,
            "อีก 42 วัน",
            forbid=("31 กรกฎาคม",),
            intent="closing",
        ),
    ),
    # --- results -----------------------------------------------------------------------------
    case("results-plain", c("ประกาศผลเมื่อไหร่", JUN20, RESULTS_END, "อีก 133 วัน", intent="closing")),
    case(
        "results-period-start",
        c(
            "ประกาศผล ITA เมื่อไหร่ครับ",
            JUN20,
            "ตุลาคม 2569",
            expect_re=(r"(?<!\d)1\s*(?:-|–|ถึง)\s*(?:วันที่\s*)?31 ตุลาคม 2569|(?<!\d)1 ตุลาคม 2569",),
            intent="closing",
        ),
    ),
    case("results-ita-out", c("ผลITAออกเมื่อไหร่คะ", JUN20, RESULTS_END, intent="closing")),
    case(
        "results-score-announce",
        c(
            "ประกาศคะแนน ITA วันไหน",
            bkk(2026, 10, 5, 9, 0),
            RESULTS_END,
            "อีก 26 วัน",
            intent="closing",
        ),
    ),
    case(
        "results-surin", c("ประกาศผลเมื่อไหร่คะ", JUN20, RESULTS_END, province=SURIN, intent="closing")
    ),
    # --- next deadline(s) --------------------------------------------------------------------
    case("next-plain", c("กำหนดการถัดไป", JUN20, OIT_ITAS, "อีก 10 วัน", intent="next")),
    case(
        "next-deadline-kha", c("deadline ถัดไปคืออะไรคะ", bkk(2026, 7, 20, 9, 0), CHECK_1, "อีก 11 วัน")
    ),
    case("next-what-to-do", c("มีอะไรต้องทำต่อไปบ้างครับ", bkk(2026, 8, 10, 9, 0), CHECK_2, "อีก 11 วัน")),
    case(
        "next-surin-april",
        c("งานถัดไปมีอะไร", bkk(2026, 4, 20, 9, 0), LINK_1, "อีก 15 วัน", province=SURIN),
    ),
    case(
        "next-surin-may15",
        c("ต่อไปต้องส่งอะไรคะ", bkk(2026, 5, 15, 9, 0), LINK_2, "อีก 21 วัน", province=SURIN),
    ),
    case("next-itas-general", c("ITAS ปิดวันไหน", JUN20, OIT_ITAS, IIT_ITAS, "อีก 10 วัน")),
    case("next-ita-general", c("ITA ปิดวันไหนครับ", JUN20, OIT_ITAS, "อีก 10 วัน")),
    case("next-october", c("กำหนดการถัดไปคะ", bkk(2026, 10, 5, 9, 0), RESULTS_END, "อีก 26 วัน")),
    case("next-after-everything", c("กำหนดการถัดไป", bkk(2026, 11, 15, 9, 0), NOTHING)),
    case(
        "next-after-everything-surin",
        c("ถัดไปมีอะไรครับ", bkk(2027, 2, 1, 9, 0), NOTHING, province=SURIN),
    ),
    # --- what closes today / tomorrow / this week / this month -------------------------------
    case(
        "today-both-30jun",
        c(
            "วันนี้มีอะไรปิดบ้าง",
            bkk(2026, 6, 30, 9, 0),
            "30 มิถุนายน 2569 เวลา 17.00 น.",
            "IIT",
            "OIT",
            "วันนี้",
        ),
    ),
    case(
        "today-surin-10jun",
        c("วันนี้ปิดอะไรบ้างคะ", bkk(2026, 6, 10, 9, 0), OIT_SURIN, "วันนี้", province=SURIN),
    ),
    case(
        "today-nothing-gives-next", c("วันนี้มีอะไรปิดไหม", bkk(2026, 7, 20, 9, 0), CHECK_1, "อีก 11 วัน")
    ),
    case(
        "tomorrow-both-30jun",
        c(
            "พรุ่งนี้มีอะไรปิดบ้าง",
            bkk(2026, 6, 29, 9, 0),
            "30 มิถุนายน 2569 เวลา 17.00 น.",
            "IIT",
            "OIT",
            "อีก 1 วัน",
        ),
    ),
    case(
        "tomorrow-surin-link2",
        c("พรุ่งนี้ต้องส่งอะไรบ้าง", bkk(2026, 6, 4, 9, 0), LINK_2, "อีก 1 วัน", province=SURIN),
    ),
    case(
        "tomorrow-appeal-surin",
        c("พรุ่งนี้ปิดอะไรคะ", bkk(2026, 8, 6, 9, 0), APPEAL, "อีก 1 วัน", province=SURIN),
    ),
    case("this-week-appeal", c("สัปดาห์นี้มีอะไรปิดบ้าง", bkk(2026, 8, 3, 9, 0), APPEAL, "อีก 4 วัน")),
    case(
        "this-week-surin-reg",
        c("อาทิตย์นี้มีอะไรต้องส่งบ้างครับ", bkk(2026, 3, 16, 9, 0), REG_SURIN, "อีก 4 วัน", province=SURIN),
    ),
    case(
        "this-week-monday-30jun",
        c("สัปดาห์นี้ปิดอะไร", bkk(2026, 6, 29, 9, 0), "IIT", "OIT", "30 มิถุนายน 2569 เวลา 17.00 น."),
    ),
    case(
        "next-week",
        c(
            "สัปดาห์หน้ามีอะไรปิดบ้าง",
            bkk(2026, 6, 24, 9, 0),
            "IIT",
            "OIT",
            "30 มิถุนายน 2569 เวลา 17.00 น.",
            "อีก 6 วัน",
        ),
    ),
    case(
        "next-7-days-thai-digits",
        c(
            "อีก ๗ วันมีอะไรปิดบ้าง",
            bkk(2026, 6, 25, 9, 0),
            "30 มิถุนายน 2569 เวลา 17.00 น.",
            "IIT",
            "OIT",
            "อีก 5 วัน",
        ),
    ),
    case("this-month-march", c("เดือนนี้มีอะไรปิดบ้าง", bkk(2026, 3, 2, 9, 0), REG_ITAS, "อีก 29 วัน")),
    case(
        "this-month-march-surin",
        c("เดือนนี้มีอะไรต้องส่งบ้างคะ", bkk(2026, 3, 2, 9, 0), REG_SURIN, REG_ITAS, province=SURIN),
    ),
    case(
        "this-month-july-surin",
        c(
            "เดือนนี้มีอะไรปิดบ้าง",
            bkk(2026, 7, 1, 9, 0),
            PUBLISH_SURIN,
            "อีก 14 วัน",
            CHECK_1,
            "อีก 30 วัน",
            province=SURIN,
        ),
    ),
    case("next-month-august", c("เดือนหน้ามีอะไรปิดบ้างครับ", bkk(2026, 7, 10, 9, 0), APPEAL, CHECK_2)),
    case("tomorrow-after-everything", c("พรุ่งนี้มีอะไรปิดไหม", bkk(2027, 3, 1, 9, 0), NOTHING)),
    # --- which phase is open now ------------------------------------------------------------
    case(
        "now-july", c("ตอนนี้อยู่ช่วงไหน", bkk(2026, 7, 10, 9, 0), CHECK_1, EIT_ITAS, intent="open_now")
    ),
    case(
        "now-appeal",
        c("ตอนนี้อยู่ขั้นตอนไหนแล้วครับ", bkk(2026, 8, 4, 9, 0), "ชี้แจง", APPEAL, intent="open_now"),
    ),
    case("now-september", c("ช่วงนี้ต้องทำอะไรบ้าง", bkk(2026, 9, 10, 9, 0), EIT_ITAS, "อีก 20 วัน")),
    case(
        "now-surin-march",
        c("ขณะนี้เปิดอะไรอยู่บ้าง", MAR10, "ลงทะเบียน", REG_SURIN, REG_ITAS, province=SURIN),
    ),
    case(
        "now-october-results", c("ตอนนี้ถึงไหนแล้ว", bkk(2026, 10, 10, 9, 0), "ประกาศผล", RESULTS_END)
    ),
    case("now-before-start", c("ตอนนี้อยู่ช่วงไหนคะ", bkk(2026, 2, 15, 9, 0), REG_ITAS, "อีก 44 วัน")),
    case(
        "now-june-no-july-step",
        c("ตอนนี้เปิดอะไรอยู่", JUN20, IIT_ITAS, "OIT", "EIT", forbid=("รอบที่ ๑",)),
    ),
    case("now-after-everything", c("ตอนนี้อยู่ช่วงไหน", bkk(2026, 12, 1, 9, 0), NOTHING)),
    # --- who is responsible ----------------------------------------------------------------
    case(
        "who-ind2-khuekkhak",
        c("ตัวชี้วัดที่ 2 ใครรับผิดชอบ", JUN20, "กองคลัง", agency=KHUEKKHAK, intent="responsible"),
    ),
    case(
        "who-ind2-khuekkhak-abbr",
        c("ตัวชี้วัดที่ ๒ ใครรับผิดชอบครับ", JUN20, "กองคลัง", agency="ทต.คึกคัก", intent="responsible"),
    ),
    case(
        "who-ind3-khuekkhak",
        c("ตัวชี้วัด 3 ใครดูแลคะ", JUN20, "สำนักปลัดฯ", agency=KHUEKKHAK, intent="responsible"),
    ),
    case(
        "who-ind7-khuekkhak",
        c("ตัวชี้วัดที่7กองไหนรับผิดชอบ", JUN20, "สำนักปลัดฯ", agency=KHUEKKHAK, intent="responsible"),
    ),
    case(
        "who-ind9-khuekkhak",
        c("ตัวชี้วัดที่๙ใครรับผิดชอบคะ", JUN20, "ทุกส่วนราชการ", agency=KHUEKKHAK, intent="responsible"),
    ),
    case(
        "who-ind2-nongphlap",
        c(
            "ตัวชี้วัดที่ 2 ใครรับผิดชอบ",
            JUN20,
            "งานการเจ้าหน้าที่สำนักปลัด อบต.",
            "งานนิติการสำนักปลัด อบต.",
            agency=NONGPHLAP,
            intent="responsible",
        ),
    ),
    case(
        "who-ind4-nongphlap",
        c(
            "ใครรับผิดชอบตัวชี้วัดที่ 4 ครับ",
            JUN20,
            "งานบริหารงานทั่วไป สำนักปลัด อบต.",
            agency="อบต.หนองพลับ",
            intent="responsible",
        ),
    ),
    case(
        "who-ind8-nongphlap",
        c(
            "ตัวชี้วัดที่ 8 ใครรับผิดชอบ",
            JUN20,
            "งานแผนงาน และงบประมาณ สำนักปลัด อบต.",
            "งานบริหารทั่วไป สำนักปลัด อบต.",
            agency=NONGPHLAP,
            intent="responsible",
        ),
    ),
    case(
        "who-ind9-nongphlap",
        c("ตัวชี้วัดที่ 9 ใครรับผิดชอบ", JUN20, "ทุกส่วนราชการ", agency=NONGPHLAP, intent="responsible"),
    ),
    case(
        "who-ind-name-budget-khuekkhak",
        c("การใช้งบประมาณ ใครรับผิดชอบ", JUN20, "กองคลัง", agency=KHUEKKHAK, intent="responsible"),
    ),
    case(
        "who-oit-surin",
        c(
            "OIT ใครรับผิดชอบครับ",
            bkk(2026, 4, 1, 9, 0),
            "สนจ.สร.",
            "อปท. ทุกแห่ง",
            "ทุกส่วนราชการ",
            province=SURIN,
            intent="responsible",
        ),
    ),
    case(
        "who-ind9-surin",
        c(
            "ตัวชี้วัดที่ 9 ใครรับผิดชอบ",
            bkk(2026, 4, 1, 9, 0),
            "สนจ.สร.",
            "อปท. ทุกแห่ง",
            province="จ.สุรินทร์",
            intent="responsible",
        ),
    ),
    case(
        "who-reg-surin",
        c(
            "ลงทะเบียน ITAS ใครต้องทำคะ",
            MAR10,
            "สนจ.สร.",
            "สถ.จ.สร.",
            "อปท. ทุกแห่ง",
            province=SURIN,
            intent="responsible",
        ),
    ),
    case(
        "who-eit-surin",
        c(
            "EIT ใครรับผิดชอบ",
            JUN20,
            "สนจ.สร.",
            "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดสุรินทร์",
            "อปท. ทุกแห่ง",
            province=SURIN,
            intent="responsible",
        ),
    ),
    case(
        "who-appeal-surin",
        c(
            "ชี้แจง OIT ใครเป็นคนทำ",
            bkk(2026, 8, 3, 9, 0),
            "อปท. ทุกแห่ง",
            "สำนักงานจังหวัดสุรินทร์",
            province=SURIN,
            intent="responsible",
        ),
    ),
    case("who-oit-national", c("ใครรับผิดชอบ OIT", JUN20, "Admin", "ผู้บริหาร", intent="responsible")),
    case("who-eit-national", c("EIT ใครเก็บข้อมูล", JUN20, "Third Party", intent="responsible")),
    case("who-iit-national", c("IIT ใครรับผิดชอบ", JUN20, "สำนักงาน ป.ป.ช.", intent="responsible")),
    case(
        "who-oit-saraburi",
        c(
            "OIT ใครรับผิดชอบ",
            bkk(2026, 4, 1, 9, 0),
            "สำนักงานส่งเสริมการปกครองท้องถิ่นจังหวัดสระบุรี",
            province=SARABURI,
            intent="responsible",
        ),
    ),
    case(
        "who-publicity-surin",
        c(
            "ประชาสัมพันธ์ ITA ใครรับผิดชอบ",
            bkk(2026, 4, 1, 9, 0),
            "ประชาสัมพันธ์ จังหวัดสุรินทร์",
            province=SURIN,
            intent="responsible",
        ),
    ),
    case(
        "who-typo-rapphitchop",
        c(
            "OIT ใครรับผิดชอป",
            bkk(2026, 4, 1, 9, 0),
            "สนจ.สร.",
            "อปท. ทุกแห่ง",
            province=SURIN,
            intent="responsible",
        ),
    ),
    # --- help and unknown text -------------------------------------------------------------
    case("help-word", c("help", JUN20, EXAMPLE, intent="help")),
    case(
        "help-thai",
        c("ใช้งานยังไงครับ", JUN20, EXAMPLE, intent="help"),
    ),
    case("courtesy-hello", c("สวัสดีค่ะ", JUN20, EXAMPLE, intent="courtesy")),
    case("help-menu", c("เมนู", JUN20, EXAMPLE, intent="help")),
    case("unknown-lunch", c("กินข้าวกันยังครับ", JUN20, EXAMPLE, intent="unknown", max_len=600)),
    case("unknown-laugh", c("555", JUN20, EXAMPLE, intent="unknown", max_len=600)),
    case(
        "unknown-meeting-room", c("ประชุมบ่ายนี้ห้องไหน", JUN20, EXAMPLE, intent="unknown", max_len=600)
    ),
    case("unknown-gibberish", c("asdfgh", JUN20, EXAMPLE, intent="unknown", max_len=600)),
    # --- more phrasing and typos ------------------------------------------------------------
    case("oit-what-time", c("OIT ปิดกี่โมงคะ", JUN20, OIT_ITAS, intent="closing")),
    case(
        "oit-itas-closes",
        c("ITAS ปิดรับ OIT วันไหนครับ", JUN20, OIT_ITAS, "อีก 10 วัน", intent="closing"),
    ),
    case(
        "oit-province-abbr-sr",
        c(
            "OIT ส่งถึงวันไหนคะ",
            bkk(2026, 6, 8, 9, 0),
            OIT_SURIN,
            "อีก 2 วัน",
            OIT_ITAS,
            "อีก 22 วัน",
            province="สร",
            intent="closing",
        ),
    ),
    case("reg-typo-swapped", c("ลงทะเบีนยปิดวันไหน", MAR10, REG_ITAS, "อีก 21 วัน", intent="closing")),
    case(
        "appeal-double-sara-e",
        c("ชี้เเจง OIT ถึงวันไหนคะ", bkk(2026, 8, 3, 10, 0), APPEAL, "อีก 4 วัน", intent="closing"),
    ),
    case(
        "iit-surin-stakeholder-list-deadline",
        c(
            "IIT ต้องเตรียมอะไรส่งจังหวัดภายในวันไหน",
            bkk(2026, 6, 1, 9, 0),
            "15 มิถุนายน 2569",
            "อีก 14 วัน",
            IIT_ITAS,
            province=SURIN,
            intent="closing",
        ),
    ),
    case(
        "who-iit-surin",
        c(
            "IIT ใครรับผิดชอบคะ",
            JUN20,
            "สำนักงาน ป.ป.ช.",
            "อปท. ทุกแห่ง",
            province=SURIN,
            intent="responsible",
        ),
    ),
    # --- a year outside FY2569 (Saraburi FY2568 plan) -------------------------------------
    case(
        "saraburi-fy2568-oit",
        c(
            "OIT ต้องเสร็จเมื่อไหร่",
            bkk(2025, 4, 20, 9, 0),
            "30 เมษายน 2568",
            "อีก 10 วัน",
            province=SARABURI,
        ),
    ),
    case(
        "saraburi-fy2568-no-fy2569-mixed-in",
        c(
            "OIT ต้องเสร็จเมื่อไหร่",
            bkk(2025, 4, 20, 9, 0),
            "30 เมษายน 2568",
            province=SARABURI,
            forbid=("2569", "ก่อนระบบ ITAS ปิด"),
        ),
    ),
]


@pytest.mark.parametrize("kase", CASES)
def test_realistic_question(calendars, kase: Case):
    ctx = Context(now=kase.now, province=kase.province, agency=kase.agency)
    reply = answer(kase.question, ctx, calendars)
    text = reply.text
    where = f"\nQ: {kase.question!r} at {kase.now:%Y-%m-%d %H:%M} {ctx.province or ''} {ctx.agency or ''}\nA:\n{text}"
    if kase.intent:
        assert reply.intent == kase.intent, where
    for s in kase.expect:
        assert s in text, f"missing {s!r}" + where
    for pattern in kase.expect_re:
        assert re.search(pattern, text), f"no match for /{pattern}/" + where
    for s in kase.forbid:
        assert s not in text, f"should not say {s!r}" + where
    if kase.max_len:
        assert len(text) <= kase.max_len, f"hint too long ({len(text)})" + where
