"""Thin adapters around the pure core: FastAPI apps, storage, and the runtime edge."""
