"""One module per kernel command; each is imported only when its command runs."""

__all__: list[str] = []
