"""The rich menu's picture, drawn with Pillow from `menu.AREAS`: one coloured tile per area, its
Thai label and a smaller hint, in Sarabun (SIL Open Font License, fonts/OFL.txt).

Thai needs complex text layout for vowels and tone marks stacked above a consonant (ตั้ง, สิ่ง):
Pillow does it through libraqm when it can load it (its wheels ship raqm and HarfBuzz, and
FriBiDi comes from the system's libfribidi0); without it the basic layout still draws every
glyph, the marks only sit less well.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from itabot.richmenu.menu import AREAS, HEIGHT, WIDTH, Area

FONT = Path(__file__).parent / "fonts" / "Sarabun-SemiBold.ttf"
LABEL_SIZE = 128
HINT_SIZE = 72
GAP = 6  # the line between tiles, in the background colour
BACKGROUND = "#F4F6F7"
MAX_BYTES = 1024 * 1024  # LINE refuses a larger image


def _fit(text: str, size: int, width: int) -> ImageFont.FreeTypeFont:
    """The font at `size`, or smaller until the text fits the tile with a margin."""
    font = ImageFont.truetype(str(FONT), size)
    while size > 24 and font.getlength(text) > width * 0.86:
        size -= 4
        font = ImageFont.truetype(str(FONT), size)
    return font


def _tile(draw: ImageDraw.ImageDraw, area: Area) -> None:
    box = (area.x + GAP, area.y + GAP, area.x + area.width - GAP, area.y + area.height - GAP)
    draw.rounded_rectangle(box, radius=36, fill=area.colour)
    centre_x = area.x + area.width / 2
    centre_y = area.y + area.height / 2
    label = _fit(area.label, LABEL_SIZE, area.width)
    hint = _fit(area.hint, HINT_SIZE, area.width)
    draw.text((centre_x, centre_y - 40), area.label, font=label, fill="#FFFFFF", anchor="ms")
    draw.text((centre_x, centre_y + 90), area.hint, font=hint, fill="#E8EEF3", anchor="ms")


def render() -> bytes:
    """The PNG LINE shows for the menu: exactly WIDTH×HEIGHT, well under 1 MB."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for area in AREAS:
        _tile(draw, area)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    data = out.getvalue()
    if len(data) > MAX_BYTES:  # pragma: no cover - flat tiles compress to ~100 KB
        raise ValueError(f"rich menu image is {len(data)} bytes, LINE takes at most {MAX_BYTES}")
    return data
