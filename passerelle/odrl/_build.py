"""Building the ODRL offers a provider publishes, in the DSP 2025-1 compact form."""

from __future__ import annotations

import copy
from collections.abc import Sequence

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonObject, JsonValue
from ._parse import parse_policy
from ._terms import ACTION_USE, PASSERELLE_ODRL_PROFILE, PolicyType

__all__ = ["offer_for_catalog", "offer_policy"]


def _rule(constraints: Sequence[JsonObject]) -> JsonObject:
    rule: JsonObject = {"action": ACTION_USE}
    if constraints:
        rule["constraint"] = [copy.deepcopy(c) for c in constraints]
    return rule


def offer_policy(
    *,
    offer_id: str,
    target: str,
    assigner: str,
    permission_constraints: Sequence[JsonObject],
    prohibition_constraints: Sequence[JsonObject] = (),
) -> JsonObject:
    """An ``Offer`` of ``use`` of ``target``: one permission whose constraints must all
    hold, and, when ``prohibition_constraints`` is given, one prohibition that denies
    whenever all of those hold. Terms are the DSP 2025-1 context's (``permission``,
    ``action: "use"``, ...); the ``profile`` names ours, since our left operands need it.

    This is the message form, with ``target``, as a Contract Offer or Request Message
    carries it (DSP 2025-1 Contract Negotiation, "Contract Offer Message"). Inside a
    catalog's Dataset the offer MUST NOT have one: publish :func:`offer_for_catalog`
    of it there.

    The result is checked with :func:`parse_policy`; a constraint it would refuse raises
    ``odrl.policy_invalid`` here, as our own mistake (``Fault.LOCAL``).
    """
    offer: JsonObject = {
        "@id": offer_id,
        "@type": str(PolicyType.OFFER),
        "profile": PASSERELLE_ODRL_PROFILE,
        "target": target,
        "assigner": assigner,
        "permission": [_rule(permission_constraints)],
    }
    if prohibition_constraints:
        offer["prohibition"] = [_rule(prohibition_constraints)]
    try:
        parse_policy(offer)
    except PasserelleError as exc:
        raise local_error(Reason.ODRL_POLICY_INVALID, f"offer {offer_id!r}: {exc.detail}") from exc
    return offer


def offer_for_catalog(offer: JsonObject) -> JsonObject:
    """The same offer as a Dataset's ``hasPolicy`` entry: without ``target``, which DSP
    2025-1 forbids there (Catalog Protocol, "ACK - Dataset": the target "is derived from
    its enclosing context")."""
    out: dict[str, JsonValue] = {
        key: copy.deepcopy(value)
        for key, value in offer.items()
        if key not in ("target", "odrl:target", "http://www.w3.org/ns/odrl/2/target")
    }
    return out
