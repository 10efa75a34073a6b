"""Pipelines: definitions, runs recorded as events, and the commands that operate them."""
