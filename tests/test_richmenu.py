"""The rich menu of 1:1 chats: its picture (right size, under LINE's 1 MB, a label drawn in
every tile), its areas (what a tap says, through the same router as typed text), and
`python -m itabot richmenu deploy` against the fake LINE: one menu of ours, whatever the number
of runs. (LINE's own spec checks the deploy's requests in test_prism.py.)"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import replace

import pytest
from PIL import Image

from itabot.app import create_app
from itabot.config import PROJECT_ROOT, Settings
from itabot.richmenu.deploy import data_host, deploy, menu_name
from itabot.richmenu.image import FONT, MAX_BYTES, render
from itabot.richmenu.menu import (
    AREAS,
    CHAT_BAR_TEXT,
    HEIGHT,
    ITAS_URL,
    WIDTH,
    menu_request,
    text_of,
)
from itabot.router import handle_message, handle_postback
from itabot.webhook.routes import EXTENSION
from tests.conftest import bkk
from tests.fakeline import SECRET, TOKEN, callback_body, event, new_event_id, post_signed, source

ADMIN = "Uad000000000000000000000000000001"
STAFF = "U" + "1" * 32
NOW = bkk(2026, 6, 20, 9, 0)
NOT_UNDERSTOOD = "ไม่เข้าใจคำถาม"
pytest_plugins = ["tests.fakeline"]  # the fake LINE and `line_settings`


@pytest.fixture(scope="module")
def png() -> bytes:
    return render()


# --- the picture -------------------------------------------------------------------------------


def test_the_picture_is_the_size_line_takes_and_under_a_megabyte(png):
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.size) == ("PNG", (WIDTH, HEIGHT))
    assert (WIDTH, HEIGHT) in ((2500, 1686), (2500, 843))
    assert len(png) < MAX_BYTES


@pytest.mark.parametrize("area", AREAS, ids=lambda a: a.key)
def test_every_tile_has_its_label_drawn_in_white(png, area):
    """The label's band (above the tile's middle) holds white text on the tile's colour; the
    hint's band below it too. An undrawn label would leave the band one flat colour."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    middle_y = area.y + area.height // 2
    for top, bottom in ((middle_y - 160, middle_y - 20), (middle_y + 20, middle_y + 110)):
        band = image.crop((area.x + 40, top, area.x + area.width - 40, bottom))
        colours = band.getcolors(maxcolors=100_000)
        assert colours is not None and len(colours) > 20  # text edges are anti-aliased
        whiteish = sum(n for n, (r, g, b) in colours if min(r, g, b) > 200)
        assert whiteish > 0.03 * band.width * band.height


def test_the_font_ships_with_its_licence():
    assert FONT.exists()
    licence = (FONT.parent / "OFL.txt").read_text()
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence
    assert "The Sarabun Project Authors" in licence


# --- the areas ---------------------------------------------------------------------------------


def test_the_areas_tile_the_menu_without_overlap():
    request = menu_request("itabot x").to_dict()
    assert request["size"] == {"width": WIDTH, "height": HEIGHT}
    assert len(CHAT_BAR_TEXT) <= 14
    covered = sum(a.width * a.height for a in AREAS)
    assert covered == WIDTH * HEIGHT
    for a in AREAS:
        assert 0 <= a.x <= a.x + a.width <= WIDTH and 0 <= a.y <= a.y + a.height <= HEIGHT
    labels = [a["action"]["label"] for a in request["areas"]]
    assert labels == ["กำหนดการถัดไป", "สิ่งที่ต้องทำ", "ตั้งค่าการเตือน", "วิธีใช้", "เข้าระบบ ITAS"]
    assert all(len(label) <= 20 for label in labels)  # LINE's limit on an action label
    itas = request["areas"][-1]["action"]
    assert itas == {"type": "uri", "label": "เข้าระบบ ITAS", "uri": ITAS_URL}
    for area in request["areas"][:-1]:
        action = area["action"]
        assert action["type"] == "postback" and len(action["data"]) <= 300
        assert action["displayText"] == action["label"]  # the chat shows what was tapped


@pytest.mark.parametrize("key", ["next", "todo", "remind", "help"])
def test_a_tap_is_answered_as_the_text_staff_would_type(services, key):
    area = next(a for a in AREAS if a.key == key)
    where = {"user_id": STAFF, "chat_id": STAFF, "chat_type": "user", "now": NOW}
    tapped = handle_postback(f"menu:{key}", services=services, **where)
    typed = handle_message(area.text, services=services, **where)
    assert tapped.text == typed.text
    assert NOT_UNDERSTOOD not in tapped.text


def test_what_is_left_lists_the_agencys_open_closings(services):
    say = {"user_id": ADMIN, "chat_id": ADMIN, "chat_type": "user", "now": NOW}
    handle_message("/agency add สุรินทร์ อบต.คลองพา", services=services, **say)
    handle_message("/bind อบต.คลองพา", services=services, **say)
    todo = handle_postback("menu:todo", services=services, **say)
    assert todo.text.startswith("ขั้นตอนที่ องค์การบริหารส่วนตำบลคลองพา ยืนยันว่าทำแล้วได้ตอนนี้")
    assert "OIT" in todo.text


@pytest.mark.parametrize("data", ["menu:", "menu:itas", "menu:nope", "menux:next", None])
def test_other_menu_data_is_not_a_menu_tap(data):
    assert text_of(data) is None


def test_a_menu_tap_through_the_webhook_is_replied_to(line_settings, fake_line):
    app = create_app(line_settings)
    rt = app.extensions[EXTENSION]
    rt.clock = lambda: NOW
    tap = event(
        "postback",
        src=source("user", user_id=STAFF),
        reply_token=new_event_id().lower().ljust(32, "0"),
        postback={"data": "menu:next"},
    )
    assert post_signed(app.test_client(), callback_body(tap), SECRET).status_code == 200
    assert rt.wait_idle(10)
    [reply] = fake_line.replies
    assert "กำหนดการถัดไป" in str(reply.json["messages"])


# --- deploy ------------------------------------------------------------------------------------


@pytest.fixture
def channel(fake_line) -> Settings:
    """A channel on the fake LINE; no database (a deploy needs none), so one run, not two."""
    return Settings(line_channel_access_token=TOKEN, line_api_base_url=fake_line.base_url)


def test_deploy_twice_leaves_one_menu_of_ours_as_the_default(channel, fake_line, png):
    first = deploy(channel)
    assert first.created and first.deleted == ()
    [(menu_id, menu)] = fake_line.rich_menus.items()
    assert fake_line.default_rich_menu == menu_id == first.rich_menu_id
    assert menu["name"] == menu_name(png) and menu["image"] == png
    [upload] = [r for r in fake_line.requests if r.path.endswith("/content")]
    assert upload.headers["content-type"] == "image/png"

    second = deploy(channel)
    assert (second.created, second.rich_menu_id, second.deleted) == (False, menu_id, ())
    assert list(fake_line.rich_menus) == [menu_id]
    creates = [r for r in fake_line.requests if r.path == "/v2/bot/richmenu"]
    assert len(creates) == 1


def made_before(fake_line, menu_id: str, name: str, image: bytes | None = b"png") -> None:
    """A menu already on the channel (ours from an earlier run, or someone else's)."""
    menu = {**menu_request(name).to_dict(), "richMenuId": menu_id}
    fake_line.rich_menus[menu_id] = menu if image is None else {**menu, "image": image}


def test_a_new_menu_replaces_ours_and_leaves_other_menus_alone(channel, fake_line):
    made_before(fake_line, "richmenu-old", "itabot 0123")
    made_before(fake_line, "richmenu-half", "itabot 4567", image=None)  # crashed before upload
    made_before(fake_line, "richmenu-theirs", "campaign")
    fake_line.default_rich_menu = "richmenu-old"
    done = deploy(channel)
    assert done.created and set(done.deleted) == {"richmenu-old", "richmenu-half"}
    assert set(fake_line.rich_menus) == {done.rich_menu_id, "richmenu-theirs"}
    assert fake_line.default_rich_menu == done.rich_menu_id


def test_a_half_made_menu_of_this_very_picture_is_made_again(channel, fake_line, png):
    made_before(fake_line, "richmenu-half", menu_name(png), image=None)  # never uploaded
    done = deploy(channel)
    assert done.created and done.deleted == ("richmenu-half",)
    assert fake_line.default_rich_menu == done.rich_menu_id


def test_the_picture_goes_to_lines_data_host():
    assert data_host("https://api.line.me") == "https://api-data.line.me"
    assert data_host("http://127.0.0.1:9999/") == "http://127.0.0.1:9999"


def test_cli_deploy_is_idempotent_and_says_what_it_did(channel, fake_line, tmp_path):
    env = {
        **os.environ,
        "LINE_API_BASE_URL": fake_line.base_url,
    }

    def run(*args: str, token: str = TOKEN) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "itabot", "richmenu", *args],
            cwd=PROJECT_ROOT,
            env={**env, "LINE_CHANNEL_ACCESS_TOKEN": token},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    first, second = run("deploy"), run("deploy")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "created and set as the default" in first.stdout
    assert "already the default" in second.stdout
    assert len(fake_line.rich_menus) == 1
    rendered = run("render", "--out", str(tmp_path / "menu.png"))
    assert rendered.returncode == 0
    assert Image.open(tmp_path / "menu.png").size == (WIDTH, HEIGHT)
    no_token = run("deploy", token="")
    assert no_token.returncode == 2 and "LINE_CHANNEL_ACCESS_TOKEN" in no_token.stderr


def test_deploy_refuses_without_a_channel(channel):
    with pytest.raises(RuntimeError, match="LINE_CHANNEL_ACCESS_TOKEN"):
        deploy(replace(channel, line_channel_access_token=""))
