"""The rich menu of 1:1 chats: five areas, what each says and what a tap does.

A tap on a chat area is a postback whose `displayText` puts the Thai label in the chat (so the
conversation reads as if the person had asked), and `router.handle_postback` turns its data
into the text staff would type — `/done` is "what is left for my agency" — answered by the
same path as typed text. Pure and Pillow-free: the webhook imports `text_of` on every postback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the SDK's models: for `deploy`; the router only needs `text_of`
    from linebot.v3.messaging import PostbackAction, RichMenuRequest, URIAction

WIDTH, HEIGHT = 2500, 1686  # LINE's large menu; the image must be exactly this size
CHAT_BAR_TEXT = "เมนู ITA"  # at most 14 characters (LINE)
NAME_PREFIX = "itabot "  # menus whose name starts so are ours to replace
POSTBACK_PREFIX = "menu:"
ITAS_URL = "https://itas.nacc.go.th"  # as the NACC's and the provinces' letters write it


@dataclass(frozen=True)
class Area:
    """One tappable tile: where, what it says, and either the text it stands for or a URL."""

    key: str
    label: str
    hint: str  # the smaller line under the label
    x: int
    y: int
    width: int
    height: int
    colour: str
    text: str | None = None  # what staff would type for the same answer
    url: str | None = None


_TOP, _BOTTOM = HEIGHT // 2, HEIGHT - HEIGHT // 2
_THIRD = WIDTH // 3
AREAS: tuple[Area, ...] = (
    Area("next", "กำหนดการถัดไป", "วันปิดที่ใกล้ที่สุด", 0, 0, _THIRD, _TOP, "#1B4F72", text="กำหนดการถัดไป"),
    Area("todo", "สิ่งที่ต้องทำ", "ของหน่วยงานเรา", _THIRD, 0, _THIRD, _TOP, "#0E6655", text="/done"),
    Area(
        "remind",
        "ตั้งค่าการเตือน",
        "วันและเวลาเตือน",
        2 * _THIRD,
        0,
        WIDTH - 2 * _THIRD,
        _TOP,
        "#6C3483",
        text="/remind",
    ),
    Area("help", "วิธีใช้", "ถามอะไรได้บ้าง", 0, _TOP, WIDTH // 2, _BOTTOM, "#1F3A5F", text="/help"),
    Area(
        "itas",
        "เข้าระบบ ITAS",
        "itas.nacc.go.th",
        WIDTH // 2,
        _TOP,
        WIDTH - WIDTH // 2,
        _BOTTOM,
        "#8E3B12",
        url=ITAS_URL,
    ),
)


def text_of(data: str | None) -> str | None:
    """A menu postback's data → the text it stands for; None for any other postback."""
    if not data or not data.startswith(POSTBACK_PREFIX):
        return None
    key = data[len(POSTBACK_PREFIX) :]
    return next((a.text for a in AREAS if a.key == key and a.text), None)


def _action(area: Area) -> PostbackAction | URIAction:
    from linebot.v3.messaging import PostbackAction, URIAction

    if area.url is not None:
        return URIAction(label=area.label, uri=area.url)
    return PostbackAction(
        label=area.label, data=f"{POSTBACK_PREFIX}{area.key}", display_text=area.label
    )


def menu_request(name: str) -> RichMenuRequest:
    """The menu as LINE's create call takes it; `selected` so it opens expanded."""
    from linebot.v3.messaging import RichMenuArea, RichMenuBounds, RichMenuRequest, RichMenuSize

    return RichMenuRequest(
        size=RichMenuSize(width=WIDTH, height=HEIGHT),
        selected=True,
        name=name,
        chat_bar_text=CHAT_BAR_TEXT,
        areas=[
            RichMenuArea(
                bounds=RichMenuBounds(x=a.x, y=a.y, width=a.width, height=a.height),
                action=_action(a),
            )
            for a in AREAS
        ],
    )
