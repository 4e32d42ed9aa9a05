"""The command table: each `/command` (and `/command sub`) and its handler and right."""

from __future__ import annotations

from itabot.admin.admins import cmd_admin_add, cmd_admin_list, cmd_admin_remove, cmd_admin_usage
from itabot.admin.agency import cmd_agency_add, cmd_agency_list, cmd_agency_remove, cmd_agency_usage
from itabot.admin.binding import cmd_bind, cmd_unbind
from itabot.admin.core import COMMANDS, Spec
from itabot.admin.info import cmd_help, cmd_whoami
from itabot.admin.remind import (
    cmd_remind_days,
    cmd_remind_off,
    cmd_remind_on,
    cmd_remind_show,
    cmd_remind_time,
    cmd_remind_usage,
)

COMMANDS.update(
    {
        "whoami": Spec(cmd_whoami, admin=False),
        "help": Spec(cmd_help, admin=False),
        "agency": {
            "add": Spec(cmd_agency_add),
            "list": Spec(cmd_agency_list),
            "remove": Spec(cmd_agency_remove),
            "*": Spec(cmd_agency_usage),
        },
        "bind": Spec(cmd_bind),
        "unbind": Spec(cmd_unbind),
        "admin": {
            "add": Spec(cmd_admin_add),
            "remove": Spec(cmd_admin_remove),
            "list": Spec(cmd_admin_list),
            "*": Spec(cmd_admin_usage),
        },
        "remind": {
            "": Spec(cmd_remind_show, admin=False),
            "on": Spec(cmd_remind_on),
            "off": Spec(cmd_remind_off),
            "days": Spec(cmd_remind_days),
            "time": Spec(cmd_remind_time),
            "*": Spec(cmd_remind_usage),
        },
    }
)
