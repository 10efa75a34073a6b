"""Schedules: cron slots claimed in the event store, fired as ``flext`` child processes."""
