"""What a reason code means to a person, and what they can do about it.

One table for every page, the command line and docs/partners.md:
``explain("dpop.jti_replayed")`` gives a sentence and a hint. Codes without an entry
of their own fall back to their family (``dpop``, ``trust``, ...), so every code the
project raises has words. :func:`markdown_table` renders a selection of codes (the
partners guide shows :data:`PARTNER_CODES`). :func:`finding_note` says why a check
after a decision's refusing step is only a finding.
"""

from ._findings import finding_note
from ._table import PARTNER_CODES, Explanation, explain, markdown_table

__all__ = ["PARTNER_CODES", "Explanation", "explain", "finding_note", "markdown_table"]
