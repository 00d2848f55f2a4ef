"""The plans. Importing this package registers every check."""

from . import (
    cross_border,
    dataspace,
    issuer,
    issuer_code,
    issuer_haip,
    mdoc,
    schema,
    trust_list,
    verifier,
    wallet,
)

__all__ = [
    "cross_border",
    "dataspace",
    "issuer",
    "issuer_code",
    "issuer_haip",
    "mdoc",
    "schema",
    "trust_list",
    "verifier",
    "wallet",
]
