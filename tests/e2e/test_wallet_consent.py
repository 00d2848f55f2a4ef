"""Consent on the wallet page: the review shows who asks (the organisation of its
access certificate), and exactly what would be disclosed, with values; Approve sends
that, Decline sends a refusal and nothing else. Optional claims can be left out, and
with two matching credentials the person picks one. Refusals read as sentences."""

from __future__ import annotations

import re

import httpx

from tests.e2e.conftest import Stack
from tests.e2e.test_scenarios import _only

PID = "urn:eudi:pid:1"


def _review(stack: Stack, request_url: str) -> tuple[str, str]:
    page = httpx.get(
        f"{stack.urls['wallet']}/present", params={"request": request_url}, timeout=120
    )
    assert page.status_code == 200, page.text
    pending = re.search(r"action=[\"']/present/([^\"']+)[\"']", page.text)
    assert pending is not None
    return page.text, pending.group(1)


def _no_repr(text: str) -> None:
    for leak in ("None", "['", "{'", "True", "False"):
        assert leak not in re.sub(r"<script.*?</script>", "", text, flags=re.S), leak


def test_approve_on_the_page_sends_exactly_the_plan(stack: Stack) -> None:
    stack.receive("eu-issuer", "eu-pid-sd-jwt", "bjoern-mueller")
    made = stack.transaction("ca-verifier", dcql_query=_only("pid", PID, [["family_name"]]))
    text, pending = _review(stack, made["request_url"])
    # Who asks: the organisation named in the access certificate, vouched for.
    assert "Passerelle Canadian Verifier" in text
    assert 'id="verified"' in text
    assert "x509_san_dns:localhost" in text
    # What: the claim's display name from the type metadata, and its value.
    assert "Family name" in text
    assert "Müller" in text
    # From whom: the organisation of the issuer's certificate, not its URL.
    assert "Passerelle EU PID Provider" in text
    _no_repr(text)
    answer = httpx.post(
        f"{stack.urls['wallet']}/present/{pending}", data={"consent": "approve"}, timeout=120
    )
    assert "accepted by the verifier" in answer.text
    claims = stack.result("ca-verifier", made["transaction_id"])["result"]["claims"]["pid"][0]
    assert "family_name" in claims
    assert "given_name" not in claims


def test_decline_on_the_page_refuses_the_whole_request(stack: Stack) -> None:
    stack.receive("eu-issuer", "eu-pid-sd-jwt", "bjoern-mueller")
    made = stack.transaction("ca-verifier", dcql_query=_only("pid", PID, [["given_name"]]))
    _, pending = _review(stack, made["request_url"])
    answer = httpx.post(
        f"{stack.urls['wallet']}/present/{pending}", data={"consent": "deny"}, timeout=120
    )
    assert "wallet.holder_declined" in answer.text
    assert "You declined to share the credential." in answer.text
    assert 'id="back"' in answer.text
    _no_repr(answer.text)
    result = stack.result("ca-verifier", made["transaction_id"])
    assert result["state"] == "failed"
    assert result["result"]["reason"] == "oid4vp.wallet_error"
    # A pending request is answered once.
    again = httpx.post(
        f"{stack.urls['wallet']}/present/{pending}", data={"consent": "approve"}, timeout=120
    )
    assert "not accepted" in again.text
    _no_repr(again.text)


def test_reloading_the_consent_page_shows_the_verifiers_own_answer(stack: Stack) -> None:
    """A request already answered serves no request object: the verifier answers the
    fetch with an error envelope. Reloading the consent page then says so with the
    verifier's reason code, not the parse error of that body read as a JWS."""
    stack.receive("eu-issuer", "eu-pid-sd-jwt", "bjoern-mueller")
    made = stack.transaction("ca-verifier", dcql_query=_only("pid", PID, [["family_name"]]))
    _, pending = _review(stack, made["request_url"])
    httpx.post(f"{stack.urls['wallet']}/present/{pending}", data={"consent": "deny"}, timeout=120)
    again = httpx.get(
        f"{stack.urls['wallet']}/present", params={"request": made["request_url"]}, timeout=120
    )
    assert again.status_code == 400
    assert "oid4vp.session_transition_invalid" in again.text
    assert "jws.malformed" not in again.text
    assert "already answered or has expired, or its link was already opened" in again.text
    assert 'id="back"' in again.text
    _no_repr(again.text)


def test_an_optional_claim_left_out_is_not_sent(stack: Stack) -> None:
    stack.receive("eu-issuer", "eu-pid-sd-jwt", "bjoern-mueller")
    query = _only("pid", PID, [["family_name"], ["given_name"]])
    query["credentials"][0]["claims"][0]["id"] = "f"
    query["credentials"][0]["claims"][1]["id"] = "g"
    # §6.4.1: the first satisfiable set is preferred; without given_name, family_name alone.
    query["credentials"][0]["claim_sets"] = [["f", "g"], ["f"]]
    made = stack.transaction("ca-verifier", dcql_query=query)
    text, pending = _review(stack, made["request_url"])
    chosen = re.search(r'name="choice" value="([^"]+)" checked', text)
    assert chosen is not None  # four PIDs held by now: the page offers a choice
    toggles = re.findall(rf'name="keep" value="({re.escape(chosen.group(1))}\|\d+)"', text)
    assert len(toggles) == 1, toggles  # given_name, and only it, is optional
    # The toggle unticked: a form sends nothing for it.
    form = {"consent": "approve", "toggles": "1", "choice": chosen.group(1)}
    answer = httpx.post(f"{stack.urls['wallet']}/present/{pending}", data=form, timeout=120)
    assert "accepted by the verifier" in answer.text
    claims = stack.result("ca-verifier", made["transaction_id"])["result"]["claims"]["pid"][0]
    assert "family_name" in claims
    assert "given_name" not in claims


def test_with_two_matching_credentials_the_person_chooses(stack: Stack) -> None:
    stack.receive("eu-issuer", "eu-pid-sd-jwt", "jan-thart")
    made = stack.transaction("ca-verifier", dcql_query=_only("pid", PID, [["family_name"]]))
    text, pending = _review(stack, made["request_url"])
    choices = re.findall(r'name="choice" value="([^"]+)"', text)
    assert len(choices) >= 2
    assert "'t Hart" in text.replace("&#39;", "'")
    # The last credential offered is Jan's (the wallet lists what it holds in order).
    answer = httpx.post(
        f"{stack.urls['wallet']}/present/{pending}",
        data={"consent": "approve", "toggles": "1", "choice": choices[-1]},
        timeout=120,
    )
    assert "accepted by the verifier" in answer.text
    claims = stack.result("ca-verifier", made["transaction_id"])["result"]["claims"]["pid"][0]
    assert claims["family_name"] == "'t Hart"


def test_a_credential_is_listed_in_words_exported_whole_and_deleted(stack: Stack) -> None:
    stack.receive("eu-issuer", "eu-pid-sd-jwt", "zoe-lefevre-dubois")
    wallet = stack.urls["wallet"]
    index = httpx.get(f"{wallet}/", timeout=60).text
    assert "Lefèvre-Dubois" in index
    assert "EU Person Identification Data" in index
    assert "urn:eudi:pid:1" not in index
    assert "vct#integrity" not in index
    _no_repr(index)
    ids = re.findall(r'data-credential-id="([^"]+)"', index)
    zoe = ids[-1]  # the wallet lists what it holds oldest first
    assert "Lefèvre-Dubois" in index.split(f'data-credential-id="{zoe}"')[1]
    exported = httpx.get(f"{wallet}/credentials/{zoe}/export", timeout=60)
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    token = exported.text.strip()
    # An SD-JWT with its disclosures.
    assert token.count(".") >= 2
    assert "~" in token
    gone = httpx.post(f"{wallet}/credentials/{zoe}/delete", timeout=60)
    assert gone.status_code == 303
    assert zoe not in httpx.get(f"{wallet}/", timeout=60).text
    assert httpx.get(f"{wallet}/credentials/{zoe}/export", timeout=60).status_code == 404


def test_a_wrong_transaction_code_reads_as_a_sentence(stack: Stack) -> None:
    made = stack.offer("eu-issuer", "eu-pid-sd-jwt", "bjoern-mueller")
    offer = next(iter(made["links"].values()))
    wrong = "000000" if made["tx_code"] != "000000" else "111111"
    page = httpx.post(
        f"{stack.urls['wallet']}/receive", data={"offer": offer, "tx_code": wrong}, timeout=120
    )
    assert page.status_code == 200
    assert 'class="failed"' in page.text
    assert "What you can do:" in page.text
    assert 'id="back"' in page.text
    _no_repr(page.text)


def test_scanning_twice_shows_the_verifiers_answer_to_the_second(stack: Stack) -> None:
    stack.receive("eu-issuer", "eu-pid-sd-jwt", "bjoern-mueller")
    made = stack.transaction("ca-verifier", dcql_query=_only("pid", PID, [["family_name"]]))
    _, first = _review(stack, made["request_url"])
    _, second = _review(stack, made["request_url"])
    wallet = stack.urls["wallet"]
    ok = httpx.post(f"{wallet}/present/{first}", data={"consent": "approve"}, timeout=120)
    assert "accepted by the verifier" in ok.text
    again = httpx.post(f"{wallet}/present/{second}", data={"consent": "approve"}, timeout=120)
    assert "not accepted" in again.text
    reason = re.search(r'<code class="reason">([^<]+)</code>', again.text)
    assert reason is not None
    # The verifier had its answer already: a replay, in its own words.
    assert reason.group(1) == "oid4vp.response_replayed", reason.group(1)
    assert "What you can do:" in again.text
    _no_repr(again.text)


def test_a_credential_deleted_while_its_consent_page_is_open_is_refused_in_words(
    stack: Stack,
) -> None:
    """Approving a plan whose credential the person deleted meanwhile is a refusal
    with a reason (the verifier learns the wallet will not answer), never a 500."""
    stack.receive("eu-issuer", "eu-pid-sd-jwt", "bjoern-mueller")
    stack.receive("eu-issuer", "eu-pid-sd-jwt", "jan-thart")
    query = _only("pid", PID, [["family_name"]])
    wallet = stack.urls["wallet"]
    first = stack.transaction("ca-verifier", dcql_query=query)
    second = stack.transaction("ca-verifier", dcql_query=query)
    _, plain = _review(stack, first["request_url"])
    text, chosen = _review(stack, second["request_url"])
    other = re.findall(r'name="choice" value="([^"]+)"(?! checked)', text)
    assert other, text
    for held in re.findall(r'data-credential-id="([^"]+)"', httpx.get(f"{wallet}/").text):
        assert httpx.post(f"{wallet}/credentials/{held}/delete").status_code == 303
    forms = (
        (plain, first, {"consent": "approve"}),
        (chosen, second, {"consent": "approve", "toggles": "1", "choice": other[-1]}),
    )
    for pending, made, form in forms:
        answer = httpx.post(f"{wallet}/present/{pending}", data=form, timeout=120)
        assert answer.status_code == 200, answer.text
        assert "not accepted" in answer.text
        assert "wallet.credential_gone" in answer.text
        _no_repr(answer.text)
        result = stack.result("ca-verifier", made["transaction_id"])
        assert result["state"] == "failed"
        assert result["result"]["reason"] == "oid4vp.wallet_error"
