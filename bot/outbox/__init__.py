"""What the bot owes people, from the ``outbox`` table to Telegram: the delivery engine
(:mod:`.engine`: pacing, retries, outcomes), the message type and the senders that
skip PTB's objects (:mod:`.outgoing`), the request retry policy (:mod:`.retries`) and
PTB's transport over aiohttp (:mod:`.transport`)."""
