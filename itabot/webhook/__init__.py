"""`POST /callback` and `/healthz`: size, signature, parse, record (dedupe), then answer on the reply pool."""
