"""`python -m itabot richmenu deploy`: make our menu LINE's default for 1:1 chats, once.

The menu's name carries a hash of what it is (`itabot <sha256 of request and image>`), so a
run finds whether the menu LINE shows is already this one without a table of our own: the
same menu already default → nothing is created; otherwise create, upload the picture, set it
as the default, and only then delete the menus named `itabot …` that are not it (a crash half
way leaves the old menu showing; the next run removes the half-made one). Menus anyone else
made (other names) are never touched.

LINE takes the picture on its data host (api-data.line.me); a stand-in given as
`LINE_API_BASE_URL` (tests, Prism) serves both, so the data host follows it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    MessagingApiBlob,
)

from itabot.config import Settings
from itabot.richmenu.image import render
from itabot.richmenu.menu import NAME_PREFIX, menu_request

log = logging.getLogger(__name__)

LINE_API = "https://api.line.me"
LINE_DATA_API = "https://api-data.line.me"


@dataclass(frozen=True)
class Deployed:
    rich_menu_id: str
    name: str
    created: bool  # False: this menu was already the default
    deleted: tuple[str, ...]  # our older menus removed


class _DataHostClient(ApiClient):
    """The SDK hard-codes api-data.line.me for the blob calls; this sends them to `data_host`."""

    def __init__(self, configuration: Configuration, data_host: str) -> None:
        super().__init__(configuration)
        self._data_host = data_host

    def call_api(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("_host") == LINE_DATA_API:
            kwargs["_host"] = self._data_host
        return super().call_api(*args, **kwargs)


def data_host(base_url: str) -> str:
    return LINE_DATA_API if base_url.rstrip("/") == LINE_API else base_url.rstrip("/")


def menu_name(image: bytes) -> str:
    """`itabot <hash>`: what the menu is (its areas, actions and picture), in the name LINE keeps."""
    body = menu_request("").to_dict()
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode() + image).hexdigest()
    return f"{NAME_PREFIX}{digest[:32]}"


def _default_menu_id(api: MessagingApi) -> str | None:
    try:
        return api.get_default_rich_menu_id().rich_menu_id
    except ApiException as exc:
        if exc.status == 404:  # no default menu set
            return None
        raise


def deploy(settings: Settings, *, timeout: float = 30.0) -> Deployed:
    """Idempotent: a second run with the same menu creates nothing and leaves one menu of ours."""
    if not settings.line_channel_access_token:
        raise RuntimeError("LINE_CHANNEL_ACCESS_TOKEN is not set: no channel to put a menu on")
    image = render()
    name = menu_name(image)
    configuration = Configuration(
        host=settings.line_api_base_url, access_token=settings.line_channel_access_token
    )
    with _DataHostClient(configuration, data_host(settings.line_api_base_url)) as client:
        api, blob = MessagingApi(client), MessagingApiBlob(client)
        ours = [
            m
            for m in api.get_rich_menu_list(_request_timeout=timeout).richmenus
            if (m.name or "").startswith(NAME_PREFIX)
        ]
        default = _default_menu_id(api)
        current = next((m for m in ours if m.name == name and m.rich_menu_id == default), None)
        created = current is None
        if current is not None:
            menu_id = current.rich_menu_id
        else:
            menu_id = api.create_rich_menu(
                menu_request(name), _request_timeout=timeout
            ).rich_menu_id
            # The SDK sends a body without a Content-Type as JSON: the header must be given.
            blob.set_rich_menu_image(
                menu_id,
                image,
                _headers={"Content-Type": "image/png"},
                _request_timeout=timeout,
            )
            api.set_default_rich_menu(menu_id, _request_timeout=timeout)
            log.info("rich menu %s created and set as the default", menu_id)
        deleted = []
        for old in ours:
            if old.rich_menu_id != menu_id:
                api.delete_rich_menu(old.rich_menu_id, _request_timeout=timeout)
                deleted.append(old.rich_menu_id)
                log.info("rich menu %s (%s) deleted", old.rich_menu_id, old.name)
    return Deployed(menu_id, name, created, tuple(deleted))
