"""Passerelle: the pure protocol core of the Canada-EU credential testbed.

Subpackages, one per specification: ``jose``, ``x509``, ``sd_jwt``, ``sd_jwt_vc``,
``vc`` (W3C VCs as JWT) and ``catalog`` (shared schemas, type metadata, crosswalks).
Nothing here does I/O or reads the clock: callers pass ``now``, randomness and
fetched data in. The CLI (``passerelle.cli``) is the exception, and the only one.
"""

from ._errors import Fault, PasserelleError, Reason
from ._json import JsonObject, JsonValue
from ._random import RandomSource

__version__ = "0.1.0"

__all__ = ["Fault", "JsonObject", "JsonValue", "PasserelleError", "RandomSource", "Reason"]
