"""The baseline for bench_webhook.py: the minimal line-bot-sdk v3 echo bot, written the way the
SDK's own examples write it (WebhookHandler, a synchronous reply inside `with ApiClient(...)`).

It does no database work, no dedupe and no Thai parsing — the floor our webhook is measured
against — and, like the SDK's examples, answers LINE's webhook only after its reply. Configured
like the bot: LINE_CHANNEL_SECRET, LINE_CHANNEL_ACCESS_TOKEN and LINE_API_BASE_URL (the
benchmark points it at its LINE stand-in and serves it with the Procfile's `web:` command).

    gunicorn --pythonpath benchmarks echo_bot:app
"""

from __future__ import annotations

import os

from flask import Flask, abort, request
from linebot.v3 import WebhookHandler
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import (
    ApiClient,
    Configuration,
    MessagingApi,
    ReplyMessageRequest,
    TextMessage,
)
from linebot.v3.webhooks import MessageEvent, TextMessageContent

app = Flask(__name__)
configuration = Configuration(
    host=os.environ.get("LINE_API_BASE_URL", "https://api.line.me"),
    access_token=os.environ.get("LINE_CHANNEL_ACCESS_TOKEN", ""),
)
handler = WebhookHandler(os.environ.get("LINE_CHANNEL_SECRET", ""))


@app.post("/callback")
def callback() -> str:
    signature = request.headers.get("X-Line-Signature", "")
    body = request.get_data(as_text=True)
    try:
        handler.handle(body, signature)
    except InvalidSignatureError:
        abort(400)
    return "OK"


@handler.add(MessageEvent, message=TextMessageContent)
def echo(event: MessageEvent) -> None:
    with ApiClient(configuration) as api_client:
        MessagingApi(api_client).reply_message(
            ReplyMessageRequest(
                reply_token=event.reply_token, messages=[TextMessage(text=event.message.text)]
            )
        )
