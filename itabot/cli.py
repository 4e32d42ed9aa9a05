"""Command-line entry points: `python -m itabot schedules|chat|db|reminders|clock|richmenu`.

Each subcommand is a thin shell over a module that does the work, so the same code runs from
the console, the webhook and the clock process. Exit codes: 0 done (a refused chat command is
still an answer, so 0), 1 a problem found (e.g. `schedules check`), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

from itabot.calendars.thai_dates import BANGKOK


def _parse_at(value: str | None) -> datetime:
    """`--at 2026-06-23T09:00` (Bangkok when no offset) → aware datetime; default: the real clock."""
    if not value:
        return datetime.now(BANGKOK)
    try:
        dt = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"--at ต้องเป็นเวลาแบบ ISO 8601 เช่น 2026-06-23T09:00: {value}"
        ) from exc
    return dt.replace(tzinfo=BANGKOK) if dt.tzinfo is None else dt.astimezone(BANGKOK)


def _cmd_schedules(args: argparse.Namespace) -> int:
    from itabot.calendars.loading import load_dir
    from itabot.config import Settings

    directory = args.dir or Settings.from_env().schedules_dir
    calendars, problems = load_dir(directory)
    if args.action == "check":
        phases = sum(len(c.phases) for c in calendars)
        if problems:
            for problem in problems:
                print(f"ERROR {problem}", file=sys.stderr)
            print(f"{len(problems)} problem(s) in {directory}", file=sys.stderr)
            return 1
        print(f"OK: {len(calendars)} calendars, {phases} phases in {directory}")
        return 0
    # list
    if problems:
        for problem in problems:
            print(f"ERROR {problem}", file=sys.stderr)
    rows = [p.to_json() for cal in calendars for p in cal.phases]
    if args.json:
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        for row in rows:
            when = row["closes_at"] or row["ends_on"] or "-"
            print(
                f"{row['calendar']:<28} {row['id']:<24} {row['starts_on'] or '-':<10} "
                f"{when:<25} {row['title']}"
            )
    return 1 if problems else 0


def _cmd_chat(args: argparse.Namespace) -> int:
    from itabot.router import respond_console

    text = " ".join(args.text)
    print(
        respond_console(
            text,
            now=args.at,
            province=args.province,
            agency=args.agency,
            user_id=args.user,
            group_id=args.group,
            room_id=args.room,
        )
    )
    return 0


def _cmd_db(args: argparse.Namespace) -> int:
    from itabot.config import Settings
    from itabot.storage import db

    url = Settings.from_env().database_url
    if args.action == "upgrade":
        db.upgrade(url, args.revision or "head")
    elif args.action == "downgrade":
        db.downgrade(url, args.revision or "base")
    print(f"database {args.action}: done")
    return 0


def _cmd_reminders(args: argparse.Namespace) -> int:
    from itabot.reminders.commands import cli_plan, cli_send

    return (cli_send if args.action == "send" else cli_plan)(args.at)


def _cmd_clock(_args: argparse.Namespace) -> int:
    from itabot.reminders.clock import run_clock

    run_clock()
    return 0


def _cmd_richmenu(args: argparse.Namespace) -> int:
    from itabot.config import Settings
    from itabot.richmenu.deploy import deploy

    if args.action == "render":
        from itabot.richmenu.image import render

        args.out.write_bytes(render())
        print(f"rich menu image written to {args.out}")
        return 0
    settings = Settings.from_env()
    if not settings.line_channel_access_token:
        print("LINE_CHANNEL_ACCESS_TOKEN is not set: no channel to put a menu on", file=sys.stderr)
        return 2
    done = deploy(settings)
    state = "created and set as the default" if done.created else "already the default"
    print(f"rich menu {done.rich_menu_id} ({done.name}): {state}")
    for old in done.deleted:
        print(f"deleted the previous menu {old}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m itabot", description="ITA deadline bot")
    sub = parser.add_subparsers(dest="command", required=True)

    sched = sub.add_parser("schedules", help="validate or list the calendars in schedules/")
    sched.add_argument("action", choices=["check", "list"])
    sched.add_argument("--json", action="store_true", help="list as JSON")
    sched.add_argument("--dir", type=lambda s: __import__("pathlib").Path(s), default=None)
    sched.set_defaults(func=_cmd_schedules)

    chat = sub.add_parser("chat", help="ask the bot as a LINE user would; prints the reply")
    chat.add_argument("--at", type=_parse_at, default=None, help="fix the clock (ISO 8601)")
    chat.add_argument("--province", help="context: the chat's province")
    chat.add_argument("--agency", help="context: the chat's agency")
    chat.add_argument("--user", help="LINE user id of the sender")
    chat.add_argument("--group", help="LINE group id the message is sent in")
    chat.add_argument("--room", help="LINE room id the message is sent in")
    chat.add_argument("text", nargs="+", help="the message")
    chat.set_defaults(func=_cmd_chat)

    dbp = sub.add_parser("db", help="database migrations")
    dbp.add_argument("action", choices=["upgrade", "downgrade"])
    dbp.add_argument("revision", nargs="?")
    dbp.set_defaults(func=_cmd_db)

    rem = sub.add_parser("reminders", help="send or plan the reminders due now")
    rem.add_argument("action", choices=["send", "plan"])
    rem.add_argument("--at", type=_parse_at, default=None, help="fix the clock (ISO 8601)")
    rem.set_defaults(func=_cmd_reminders)

    clock = sub.add_parser("clock", help="run the reminder dispatcher every minute (APScheduler)")
    clock.set_defaults(func=_cmd_clock)

    menu = sub.add_parser(
        "richmenu", help="the 1:1 chats' rich menu: deploy it to LINE, or render it"
    )
    menu.add_argument("action", choices=["deploy", "render"])
    menu.add_argument(
        "--out",
        type=lambda s: __import__("pathlib").Path(s),
        default="richmenu.png",
        help="render: where to write the PNG",
    )
    menu.set_defaults(func=_cmd_richmenu)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "at", "unset") is None:
        args.at = _parse_at(None)
    return int(args.func(args) or 0)
