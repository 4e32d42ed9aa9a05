"""Chat commands (`/whoami`, `/agency add …`, `/bind …`): who may run them, and the audit log.

One concern per module; callers use the names re-exported here (`admin.is_command`,
`admin.execute`, `admin.COMMANDS`, …):

- `core`: `Reply`, `Command`, `Spec`, parsing, the right check, dispatch and the audit log;
- `agency`: `/agency add|list|remove` and finding agencies and provinces by name;
- `binding`: `/bind`, `/unbind`;
- `admins`: `/admin add|remove|list`;
- `remind`: `/remind`;
- `info`: `/whoami`, `/help`;
- `table`: the command table, filling `COMMANDS`.
"""

from __future__ import annotations

from itabot.admin import table  # noqa: F401  (fills COMMANDS on import)
from itabot.admin.admins import cmd_admin_add, cmd_admin_list, cmd_admin_remove, cmd_admin_usage
from itabot.admin.agency import (
    LIST_PAGE,
    MAX_BULK_AGENCIES,
    MAX_NAME_CHARS,
    Lookup,
    check_name,
    cmd_agency_add,
    cmd_agency_list,
    cmd_agency_remove,
    cmd_agency_usage,
    find_agency,
    name_key,
    split_province_first,
    split_province_last,
)
from itabot.admin.binding import cmd_bind, cmd_unbind
from itabot.admin.core import (
    ADMIN_NEEDED,
    ALIASES,
    COMMAND_QUICK,
    COMMANDS,
    DATABASE_DOWN,
    DATABASE_NOT_MIGRATED,
    FAILED,
    MAX_AUDIT_COMMAND,
    MAX_COMMAND_CHARS,
    NO_SENDER,
    SUB_ALIASES,
    USAGE,
    Command,
    Handler,
    Reply,
    Spec,
    audit,
    execute,
    is_admin,
    is_command,
    parse_command,
    split_sub,
    visible,
)
from itabot.admin.info import ADMIN_HELP, cmd_help, cmd_whoami
from itabot.admin.remind import (
    MAX_REMIND_OFFSETS,
    cmd_remind_days,
    cmd_remind_off,
    cmd_remind_on,
    cmd_remind_show,
    cmd_remind_time,
    cmd_remind_usage,
)

__all__ = [
    "ADMIN_HELP",
    "ADMIN_NEEDED",
    "ALIASES",
    "COMMANDS",
    "COMMAND_QUICK",
    "DATABASE_DOWN",
    "DATABASE_NOT_MIGRATED",
    "FAILED",
    "LIST_PAGE",
    "MAX_AUDIT_COMMAND",
    "MAX_BULK_AGENCIES",
    "MAX_COMMAND_CHARS",
    "MAX_NAME_CHARS",
    "MAX_REMIND_OFFSETS",
    "NO_SENDER",
    "SUB_ALIASES",
    "USAGE",
    "Command",
    "Handler",
    "Lookup",
    "Reply",
    "Spec",
    "audit",
    "check_name",
    "cmd_admin_add",
    "cmd_admin_list",
    "cmd_admin_remove",
    "cmd_admin_usage",
    "cmd_agency_add",
    "cmd_agency_list",
    "cmd_agency_remove",
    "cmd_agency_usage",
    "cmd_bind",
    "cmd_help",
    "cmd_remind_days",
    "cmd_remind_off",
    "cmd_remind_on",
    "cmd_remind_show",
    "cmd_remind_time",
    "cmd_remind_usage",
    "cmd_unbind",
    "cmd_whoami",
    "execute",
    "find_agency",
    "is_admin",
    "is_command",
    "name_key",
    "parse_command",
    "split_province_first",
    "split_province_last",
    "split_sub",
    "visible",
]
