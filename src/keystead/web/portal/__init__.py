"""Portal pages: importing this package registers every portal module."""

__all__: list[str] = []
