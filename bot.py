"""`python bot.py` runs the bot locally; gunicorn serves `bot:app` (the webhook only).

Under `gunicorn --preload` (the Procfile) this module is imported once, in the master, and the
workers are forked from it: the libraries, the calendars and the Thai word list are loaded once
and their memory pages are shared by every worker. `create_app` leaves no thread, socket or
database connection behind for a fork to copy (tests/test_preload.py).

The garbage collector is off while the app loads: imports make hundreds of thousands of
long-lived objects (line-bot-sdk's pydantic models) and the collections they trigger free
nothing yet cost a fifth of the start-up. Then `gc.freeze()` sets all of them aside, so no
worker's collector writes into the shared pages (each write would copy a page into the worker).
"""

import gc

gc.disable()

from itabot.app import create_app  # noqa: E402 - after gc.disable(), on purpose

app = create_app()
gc.freeze()
gc.enable()

if __name__ == "__main__":
    from itabot.app import run_local

    run_local(app)
