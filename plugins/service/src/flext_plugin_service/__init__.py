"""Services: the registry plugins contribute to, their health and supervision, and ``flext serve``."""
