"""Chat commands (`/whoami`, `/agency add …`, `/bind …`): who may run them, and the audit log.

- `commands`: the command table and `execute` (right check, dispatch, audit);
- `core`: `Reply`, `Command`, `Spec`, parsing helpers, rights and the audit row;
- `agency`: `/agency add|list|remove` and finding agencies and provinces by name;
- `binding`: `/bind`, `/unbind`; `admins`: `/admin add|remove|list`; `remind`: `/remind`;
- `info`: `/whoami`, `/help`.
"""
