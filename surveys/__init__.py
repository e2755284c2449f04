"""What Pulso knows about open government, with no Telegram, database or clock in it."""
