"""Interactive mode: a local page through which a person runs the checks that need a device.

A real mobile wallet or a commercial issuer has no test API. With
``passerelle conformance run --interactive`` the suite serves a page (on loopback by
default) that shows, for each wallet check, the suite's request or offer as a QR code
and a link, and waits for the device. What the suite can observe decides by itself: a
presentation (or an error response) reaching the suite's ``response_uri`` completes the
step without anyone clicking. What only a person can see — a wallet that shows an
error screen and sends nothing, a wallet that stored a credential — is answered on the
page, and the report marks that result as reviewed by a person. Issuer checks that
have neither an adapter nor a one-shot offer ask for an offer: pasted into the page, or
sent to ``POST {console}/offers`` (JSON ``{"offer", "tx_code"}``, or the offer itself).

The page polls ``GET /state``; answers are ``POST /prompts/{id}``. Everything is in
memory for the length of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._console import Answer, Console
from ._model import CheckError, CheckFailed, CheckSkipped, ErrorClass

if TYPE_CHECKING:
    from ._context import CheckContext, Target

__all__ = [
    "Answer",
    "Console",
    "ask_wallet",
    "interactive_offer",
    "is_interactive",
    "receive_interactively",
    "wallet_backchannel",
]

# --- the hooks the plans call ----------------------------------------------------------------


def is_interactive(ctx: CheckContext) -> bool:
    return ctx.suite.console is not None


def _console(ctx: CheckContext) -> Console:
    console = ctx.suite.console
    assert console is not None
    return console


def wallet_backchannel(ctx: CheckContext) -> str:
    """The wallet's test API; none is needed in interactive mode, where a person holds
    the device."""
    if is_interactive(ctx):
        return str(ctx.target.get("backchannel") or "").rstrip("/")
    return str(ctx.target.require("backchannel")).rstrip("/")


def _person(ctx: CheckContext, answer: Answer, said: str) -> None:
    if answer.by_person:
        ctx.record(reviewed_by_person=True, person_said=said)


def ask_wallet(ctx: CheckContext, backchannel: str, pending: Any) -> dict[str, Any]:
    """The wallet's decision on ``pending`` (a request of the suite's verifier): from its
    backchannel, or in interactive mode from the device — a presentation or an error
    response reaching the suite decides by itself; a refusal only the screen shows is a
    person's answer."""
    if not is_interactive(ctx):
        response = ctx.http.post(
            f"{backchannel}/presentations", json={"request": pending.link, "consent": "minimal"}
        )
        if response.status_code >= 500:
            raise CheckError(
                ErrorClass.UNPARSEABLE,
                f"the wallet's backchannel failed on the request: HTTP {response.status_code}",
            )
        return ctx.json_object(response, "the wallet's backchannel (presentations)")

    def observed() -> str | None:
        for arrival in list(pending.arrivals):
            if arrival.carries_presentation:
                return "presented"
            if arrival.is_error_response:
                return "refused"
        return None

    answer = _console(ctx).ask(
        check=ctx.check_id,
        subject=ctx.target.name,
        text="Scan this request with the wallet (or open the link on the device), and "
        "follow what the wallet asks. If the wallet refuses it, say so below.",
        link=pending.link,
        choices=(
            ("refused", "The wallet refused: it showed an error and sent nothing"),
            ("presented", "The wallet says it sent the presentation"),
        ),
        observed=observed,
    )
    _person(ctx, answer, answer.value)
    return {
        "accepted": answer.value == "presented",
        "stage": "person" if answer.by_person else "observed",
        "reviewed_by_person": answer.by_person,
    }


def receive_interactively(
    ctx: CheckContext,
    describe: Callable[[], Mapping[str, Any]],
    configuration: str,
    link: str,
    tx_code: str | None,
) -> dict[str, Any]:
    """Hand the device an offer; the person says whether the wallet stored the credential.
    What the wallet holds is read from the issuer's metadata (format, type, claims) that
    ``describe`` returns: the plan's own discovery, so this module needs no holder."""
    text = "Scan this credential offer with the wallet and accept the credential."
    if tx_code:
        text += f" Transaction code: {tx_code}"
    answer = _console(ctx).ask(
        check=ctx.check_id,
        subject=ctx.target.name,
        text=text,
        link=link,
        choices=(
            ("accepted", "The wallet stored the credential"),
            ("refused", "The wallet refused or failed"),
        ),
    )
    _person(ctx, answer, answer.value)
    if answer.value != "accepted":
        raise CheckFailed(f"the person reports that the wallet did not accept {configuration}")
    config = describe()
    described = (config.get("credential_metadata") or {}).get("claims") or config.get("claims")
    claims = []
    for entry in described if isinstance(described, list) else []:
        path = entry.get("path") if isinstance(entry, dict) else None
        if isinstance(path, list) and path and isinstance(path[0], str):
            claims.append(path[0])
    return {
        "credential_id": f"interactive:{configuration}",
        "format": str(config.get("format")),
        "vct": str(config.get("vct") or configuration),
        "claims": tuple(dict.fromkeys(claims)),
    }


def interactive_offer(ctx: CheckContext, issuer: Target, configuration_ids: Sequence[str]) -> Any:
    """An offer a person pastes into the page or sends to the suite, for an issuer with
    no adapter."""
    if not is_interactive(ctx):
        return None
    answer = _console(ctx).ask(
        check=ctx.check_id,
        subject=issuer.name,
        text=f"Make a pre-authorized offer of {', '.join(configuration_ids)} in "
        f"{issuer.name}, then paste it here or POST it to {_console(ctx).url}offers",
        accepts_offer=True,
        choices=(("skip", "This issuer cannot make that offer"),),
    )
    if answer.offer is None:
        raise CheckSkipped(f"the person had no offer of {list(configuration_ids)} to give")
    return answer
