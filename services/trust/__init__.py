"""Trust services: the Canadian TRQP trust registry, and the EU trust-list distribution."""
