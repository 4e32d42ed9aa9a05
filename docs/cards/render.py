"""Draw what users see: the main answers, the reminder push, greetings and /help, as PNGs at
phone width, from the real code (router, conversation, card builders) on a throwaway database.

    .venv/bin/python docs/cards/render.py [--out docs/cards] [--preview DIR]

DIR is the flex-preview tool (render.py + shoot.sh, headless Chromium; default
`$FLEX_PREVIEW`, else the nearest `shared/tools/flex-preview` above the repository). Each scenario
becomes `<name>.json` (the messages exactly as sent, `to_dict()` of the SDK models, kept in a
temporary folder) and `<name>.png` (the chat as a phone shows it; carousels also as
`<name>-cards.png`, every card stacked). The clock is fixed, so the pictures change only when
the code or the calendars do.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from itabot.calendars.model import Calendars, Phase  # noqa: E402
from itabot.calendars.thai_dates import BANGKOK  # noqa: E402
from itabot.config import Settings  # noqa: E402
from itabot.conversation.replies import EXAMPLE_QUESTIONS, QUICK_REPLIES  # noqa: E402
from itabot.line.answer_messages import answer_to_messages, greeting_messages  # noqa: E402
from itabot.reminders.messages import reminder_messages  # noqa: E402
from itabot.router import Services, handle_message, handle_postback  # noqa: E402
from itabot.storage import db  # noqa: E402
from itabot.storage.chats import binding_of  # noqa: E402

ADMIN = "U" + "a" * 32
STAFF = "U" + "b" * 32
GROUP = "C" + "c" * 32  # bound to อบต.คลองพา, Surin
UNBOUND = "C" + "d" * 32
SECRET = "render-cards"  # signs the "✓ ทำแล้ว" buttons, as the channel secret does


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=BANGKOK)


@dataclass(frozen=True)
class Due:
    phase: Phase
    offset_days: int


class Bot:
    """The router on a throwaway SQLite database, a Surin agency bound to one group."""

    def __init__(self, folder: Path) -> None:
        url = f"sqlite:///{folder / 'cards.db'}"
        db.upgrade(url)
        self.settings = Settings(
            database_url=url,
            line_channel_secret=SECRET,
            admin_ids=frozenset({ADMIN}),
            schedules_dir=ROOT / "schedules",
        )
        self.services = Services(self.settings, Calendars.load(self.settings.schedules_dir))
        now = at(2026, 4, 20, 9, 0)
        for text in (
            "/agency add สุรินทร์ อบต.คลองพา\nอบต.สุรินทร์ใต้\nอบต.สุรินทร์เหนือ\nอบต.สุรินทร์กลาง",
            "/bind อบต.คลองพา",
        ):
            self.say(text, now, user=ADMIN, chat=GROUP if text.startswith("/bind") else ADMIN)

    def say(self, text: str, now: datetime, *, user: str = STAFF, chat: str = GROUP):
        kind = "user" if chat.startswith("U") else "group"
        return handle_message(
            text, services=self.services, now=now, user_id=user, chat_id=chat, chat_type=kind
        )

    def press(self, data: str, now: datetime, *, user: str = ADMIN, chat: str = ADMIN):
        kind = "user" if chat.startswith("U") else "group"
        return handle_postback(
            data, services=self.services, now=now, user_id=user, chat_id=chat, chat_type=kind
        )

    def bound_to(self, chat: str) -> tuple[str, str] | None:
        with db.session_scope(self.settings.database_url) as session:
            binding = binding_of(session, chat)
        return (binding.agency, binding.province) if binding and binding.agency else None


def scenarios(bot: Bot) -> list[tuple[str, dict, list]]:
    """(name, flex-preview meta, messages) for every picture."""
    out: list[tuple[str, dict, list]] = []

    def ask(name: str, title: str, text: str, now: datetime, **kw) -> None:
        answer = bot.say(text, now, **kw)
        group = kw.get("chat", GROUP) != ADMIN
        meta = {"title": title, "user_text": text, "chat": "group" if group else "user"}
        meta["chat_title"] = "ITA อบต.คลองพา" if kw.get("chat", GROUP) == GROUP else None
        out.append((name, meta, answer_to_messages(answer)))

    april = at(2026, 4, 20, 9, 0)
    ask(
        "when-closes",
        "OIT ปิดวันไหน — bound group, 20 Apr 2569: the province's earlier deadline, 5 cards, N more",
        "OIT ปิดวันไหน",
        april,
    )
    ask("who", "ใครรับผิดชอบ — bound group, 20 Apr 2569", "ตัวชี้วัดที่ 9 ใครรับผิดชอบ", april)
    ask(
        "due-tomorrow",
        "What's due — bound group, 4 May 2569",
        "พรุ่งนี้มีอะไรปิดบ้าง",
        at(2026, 5, 4, 9, 0),
    )
    ask("next", "กำหนดการถัดไป — bound group, 20 Apr 2569 (… และอีก N รายการ)", "กำหนดการถัดไป", april)
    ask(
        "unbound-group",
        "Unbound group, 20 Jun 2569: national calendar only, says so",
        "OIT ปิดวันไหน",
        at(2026, 6, 20, 9, 0),
        chat=UNBOUND,
    )
    calendars = bot.services.calendars
    oit = calendars.get("national-2569").phase("oit-answer")
    surin = calendars.get("province-surin-2569")
    links = next(p for p in surin.phases if p.closing and p.closing.month == 6 and p.tool == "OIT")
    push = reminder_messages([Due(oit, 1), Due(links, 0)], SECRET)
    out.append(
        (
            "reminder",
            {
                "title": "Reminder push, 08.30 — OIT tomorrow, the province's step today",
                "push": True,
                "chat": "group",
                "chat_title": "ITA อบต.คลองพา",
            },
            push,
        )
    )
    for kind, chat, binding in (
        ("user", STAFF, None),
        ("group", UNBOUND, None),
        ("group", GROUP, bot.bound_to(GROUP)),
    ):
        name = {STAFF: "greeting-follow", UNBOUND: "greeting-join", GROUP: "greeting-rejoin"}[chat]
        title = {
            STAFF: "Added as a friend (follow)",
            UNBOUND: "Invited into a group (join)",
            GROUP: "Re-invited into a group already bound",
        }[chat]
        messages = greeting_messages(kind, EXAMPLE_QUESTIONS, QUICK_REPLIES, bound_to=binding)
        meta = {
            "title": title,
            "chat": kind,
            "system": "ITA Bot เข้าร่วมกลุ่ม" if kind == "group" else None,
        }
        out.append((name, meta, messages))
    for name, user in (("help-admin", ADMIN), ("help-staff", STAFF)):
        answer = bot.say("/help", april, user=user, chat=user)
        meta = {"title": f"/help ({'admin' if user == ADMIN else 'staff'})", "user_text": "/help"}
        out.append((name, meta, answer_to_messages(answer)))
    asked = bot.say("/agency remove อบต.สุรินทร์", april, user=ADMIN, chat=ADMIN)
    out.append(
        (
            "remove-suggestions",
            {
                "title": "/agency remove: suggestions are distinct and only ask",
                "user_text": "/agency remove อบต.สุรินทร์",
            },
            answer_to_messages(asked),
        )
    )
    first = asked.postbacks[0] if asked.postbacks else None
    if first is not None:
        confirm = bot.press(first[1], april)
        out.append(
            (
                "remove-confirm",
                {"title": "…one tap asks: ยืนยัน / ยกเลิก (signed, expires)", "user_text": first[0]},
                answer_to_messages(confirm),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "cards")
    near = [up / "shared/tools/flex-preview" for up in ROOT.parents]
    default = os.environ.get("FLEX_PREVIEW") or next((p for p in near if p.exists()), near[0])
    parser.add_argument("--preview", type=Path, default=Path(default))
    args = parser.parse_args()
    if not (args.preview / "render.py").exists():
        sys.exit(f"flex-preview not found at {args.preview} (set FLEX_PREVIEW or --preview)")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, meta, messages in scenarios(Bot(folder)):
            data = {
                "meta": {k: v for k, v in meta.items() if v},
                "messages": [m.to_dict() for m in messages],
            }
            source = folder / f"{name}.json"
            source.write_text(json.dumps(data, ensure_ascii=False, indent=1))
            views = [("", [])]
            if any(m.get("contents", {}).get("type") == "carousel" for m in data["messages"]):
                views.append(("-cards", ["--cards"]))
            for suffix, flags in views:
                page = folder / f"{name}{suffix}.html"
                png = args.out / f"{name}{suffix}.png"
                subprocess.run(
                    [sys.executable, args.preview / "render.py", source, page, *flags], check=True
                )
                subprocess.run(
                    [args.preview / "shoot.sh", page, png], check=True, capture_output=True
                )
                _shrink(png)
                print(png.relative_to(ROOT) if png.is_relative_to(ROOT) else png)


def _shrink(png: Path) -> None:
    """256 colours are plenty for flat cards and cut the file to about a third."""
    try:
        from PIL import Image
    except ImportError:  # the pictures are only bigger
        return
    with Image.open(png) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(png, optimize=True)


if __name__ == "__main__":
    main()
