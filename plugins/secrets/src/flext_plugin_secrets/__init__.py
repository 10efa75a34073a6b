"""FLEXT secrets: ``flext secret`` and the answer to ``ResolveSecret`` (``${secret:NAME}``)."""
