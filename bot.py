"""`python bot.py` runs the bot locally; gunicorn serves `bot:app` (the webhook only)."""

from itabot.app import create_app

app = create_app()

if __name__ == "__main__":
    from itabot.app import run_local

    run_local(app)
