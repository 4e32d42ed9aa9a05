"""Conversation engine: answers per second and p50/p99 latency over a mix of staff questions,
the time to load every calendar in schedules/ and to build their search index at load.
Goals: answer p99 ≤ 5 ms, load ≤ 200 ms, index build ≤ 200 ms."""

from __future__ import annotations

import time

from _common import ROOT, save, summary_ms, table

from itabot.calendars.model import Calendars
from itabot.calendars.thai_dates import BANGKOK, parse_period
from itabot.conversation.answer import Context
from itabot.conversation.replies import answer
from itabot.conversation.search import PhaseIndex, index_for
from itabot.conversation.understanding import warm_up

QUESTIONS = [
    "OIT ปิดวันไหน",
    "oit ปิดวันไหนคะ",
    "ลงทะเบียน ITAS ปิดวันไหน",
    "ชี้แจง OIT ถึงวันไหน",
    "ประกาศผลเมื่อไหร่",
    "กำหนดการถัดไป",
    "พรุ่งนี้มีอะไรปิดบ้าง",
    "วันนี้มีอะไรปิด",
    "สัปดาห์นี้มีอะไรต้องส่ง",
    "เดือนนี้มีอะไรปิดบ้าง",
    "ตอนนี้อยู่ช่วงไหน",
    "ตัวชี้วัดที่ 9 ใครรับผิดชอบ",
    "ตัวชี้วัดที่ ๒ ใครรับผิดชอบ",
    "ใครรับผิดชอบ OIT",
    "IIT หมดเขตเมื่อไร",
    "EIT ปิดกี่โมง",
    "ลงทะเบียญปิดวันไหร",
    "ส่งลิงก์ OIT ให้จังหวัดวันไหน",
    "ตรวจ OIT รอบ 2 เสร็จเมื่อไหร่",
    "สวัสดีครับ",
    "ช่วยเหลือ",
    "ทดสอบ 123",
    "OIT เปิดวันไหน",
    "IIT เริ่มเมื่อไหร่",
    "ยังเหลืออะไรต้องทำ",
    "ทำไรต่อ",
    "อาทิตหน้ามีอะไรปิด",
    "พรุงนี้มีอะไรปิดบ้าง",
    "ดูผลคะแนน OIT ได้เมื่อไหร่",
    "ประชุมทบทวนผลการประเมิน ITA ปีที่แล้วจัดเมื่อไหร่",
    "โครงการยกระดับคะแนนของจังหวัดเริ่มเมื่อไหร่",
    "คำสั่งแต่งตั้งคณะทำงาน ITA ออกเมื่อไหร่",
    "คู่มือผลประโยชน์ทับซ้อนใครทำ",
    "ขอบคุณครับ",
    "วันนี้กินข้าวที่ไหนดีครับ",
    "แอร์ห้องประชุมเสีย ใครโทรเรียกช่างให้หน่อย",
]
CONTEXTS = [
    {"province": "สุรินทร์"},
    {"province": "สระบุรี"},
    {"agency": "เทศบาลตำบลคึกคัก"},
    {},
]
TIMES = [(2026, 3, 10, 9), (2026, 6, 20, 9), (2026, 8, 3, 8), (2027, 1, 15, 9)]


def bench_load(repeat: int = 20) -> dict:
    directory = ROOT / "schedules"
    started = time.perf_counter()
    Calendars.load(directory)
    first = time.perf_counter() - started
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        Calendars.load(directory)
        samples.append(time.perf_counter() - started)
    return {"first_load_ms": round(first * 1000, 1), **summary_ms(samples)}


def bench_index(repeat: int = 20) -> dict:
    """The search index over every phase, built once when the calendars load
    (`router.Services.from_settings`); the tokeniser's word list is loaded first, as at start-up."""
    from itabot.conversation.understanding import lexicon_words

    warm_up()
    calendars = Calendars.load(ROOT / "schedules")
    started = time.perf_counter()
    index_for(calendars)
    first = time.perf_counter() - started
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        PhaseIndex(calendars.all_phases(), lexicon_words())
        samples.append(time.perf_counter() - started)
    return {"first_build_ms": round(first * 1000, 1), **summary_ms(samples)}


PERIODS = [
    "วันที่ ๒ - ๓๑ มีนาคม ๒๕๖๙",
    "วันที่ ๒ มีนาคม ๒๕๖๙ ถึงวันที่ ๓๐ กันยายน ๒๕๖๙",
    "ภายในวันที่ ๗ สิงหาคม ๒๕๖๙ เวลา ๑๗.๐๐ น.",
    "ต.ค.๖๗ – เม.ย.๖๘",
    "ตลอดปี ๖๘",
    "ในวันอังคารที่ ๓๐ มิถุนายน ๒๕๖๙ เวลา ๑๗.๐๐ น.",
    "ธันวาคม ๒๕๖๗-กุมภาพันธ์ ๒๕๖๘",
    "วันที่ ๑ พฤศจิกายน ๒๕๖๘ เป็นต้นไป",
    "1-31 ธ.ค. 68",
    "ปีงบประมาณ พ.ศ. ๒๕๖๙",
]


def bench_parse(rounds: int = 200) -> dict:
    samples = []
    for _ in range(rounds):
        for text in PERIODS:
            started = time.perf_counter()
            parse_period(text)
            samples.append(time.perf_counter() - started)
    return summary_ms(samples)


def bench_answers(rounds: int = 30) -> dict:
    from datetime import datetime

    calendars = Calendars.load(ROOT / "schedules")
    warm_up()
    cases = [
        (q, Context(now=datetime(*t, tzinfo=BANGKOK), **ctx))
        for q in QUESTIONS
        for ctx in CONTEXTS
        for t in TIMES
    ]
    samples, cpu = [], []
    started_all = time.perf_counter()
    for _ in range(rounds):
        for question, ctx in cases:
            started, started_cpu = time.perf_counter(), time.thread_time()
            answer(question, ctx, calendars)
            cpu.append(time.thread_time() - started_cpu)
            samples.append(time.perf_counter() - started)
    elapsed = time.perf_counter() - started_all
    # On a shared machine the wall clock also counts time spent waiting for a core; the
    # thread's CPU time is what an answer costs.
    return {
        "questions": len(QUESTIONS),
        "answers_per_s": round(len(samples) / elapsed),
        **summary_ms(samples),
        "cpu": summary_ms(cpu),
    }


def main() -> None:
    load = bench_load()
    index = bench_index()
    answers = bench_answers()
    parse = bench_parse()
    print("Conversation engine (in-process, one core)")
    print(
        table(
            [
                ("load all calendars (first)", f"{load['first_load_ms']} ms", "≤ 200 ms"),
                ("load all calendars p50", f"{load['p50_ms']} ms", ""),
                ("search index build (first)", f"{index['first_build_ms']} ms", "≤ 200 ms"),
                (
                    "search index build p50 / max",
                    f"{index['p50_ms']} / {index['max_ms']} ms",
                    "≤ 200 ms",
                ),
                ("answer p50", f"{answers['p50_ms']} ms", ""),
                ("answer p99", f"{answers['p99_ms']} ms", "≤ 5 ms"),
                ("answer p99, thread CPU time", f"{answers['cpu']['p99_ms']} ms", "≤ 5 ms"),
                ("answers per second", answers["answers_per_s"], ""),
                ("parse_period p50 / p99", f"{parse['p50_ms']} / {parse['p99_ms']} ms", ""),
                ("question mix", f"{answers['questions']} questions × 4 contexts × 4 times", ""),
            ],
            ("measure", "value", "goal"),
        )
    )
    path = save(
        "conversation", {"load": load, "index": index, "answers": answers, "parse_period": parse}
    )
    print(f"saved {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
