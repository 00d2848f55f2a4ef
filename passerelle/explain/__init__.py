"""What a reason code means to a person, and what they can do about it.

One table for every page and the command line: ``explain("dpop.jti_replayed")`` gives
a sentence and a hint. Codes without an entry of their own fall back to their family
(``dpop``, ``trust``, ...), so every code the project raises has words.
"""

from ._table import Explanation, explain

__all__ = ["Explanation", "explain"]
