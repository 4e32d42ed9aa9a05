"""Child servers for tests and benchmarks (gunicorn, Prism): a free loopback port to start one
on, the Procfile's own commands, and a stop that reaches everything it spawned."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping

from itabot.config import PROJECT_ROOT

_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process_group(proc: subprocess.Popen, grace: float = 15.0) -> None:
    """SIGTERM the child's process group (started with `start_new_session=True`: gunicorn's
    master and workers, Prism's node processes), SIGKILL if it outlives `grace` seconds."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def procfile_command(process_type: str, env: Mapping[str, str]) -> list[str]:
    """The Procfile's line for `process_type` (`web`, `clock`, `release`) as argv, as a PaaS
    runs it: `${VAR:-default}` and `$VAR` taken from `env`, `gunicorn` and `python` from this
    interpreter's environment."""
    lines = (PROJECT_ROOT / "Procfile").read_text(encoding="utf-8").splitlines()
    line = next(
        command for name, sep, command in (ln.partition(":") for ln in lines)
        if sep and name.strip() == process_type
    )  # fmt: skip
    argv = shlex.split(_VARIABLE.sub(lambda m: env.get(m[1] or m[3]) or m[2] or "", line))
    if argv[0] == "gunicorn":
        return [sys.executable, "-m", "gunicorn", *argv[1:]]
    return [sys.executable, *argv[1:]] if argv[0] in ("python", "python3") else argv
