"""The Telegram edge: parse an update, check the caller's role, call a service, reply."""
