"""Pulso's runtime: settings, storage, scheduling, delivery, the PTB application and the CLI.

Everything that touches the outside world (Telegram, the database, the clock)
lives here or in :mod:`handlers`; the domain it serves lives in :mod:`surveys`.
"""
