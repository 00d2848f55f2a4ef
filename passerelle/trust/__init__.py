"""Trust evaluation: trust lists, the Canadian trust registry (TRQP), recognition."""

__all__: list[str] = []
