"""Decentralized Claims Protocol 1.0: Self-Issued ID Tokens (the DCP TCK 4.3.x cases),
did:web identifiers and documents, the Resolution API messages and scopes, and the
verification of ``vc20-bssl/jwt`` presentations (the DCP TCK 5.4.x cases).

Every key is generated here; every negative asserts its reason code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import Fault, JsonObject, PasserelleError, Reason
from passerelle.dcp import (
    AUTHENTICATION,
    CAPABILITY_INVOCATION,
    DCP_CONTEXT,
    create_dcp_presentation,
    create_self_issued_token,
    credential_service_endpoint,
    did_of_key_id,
    did_web_base_url,
    did_web_to_url,
    is_presentation_definition_query,
    key_resolver,
    parse_presentation_query,
    parse_presentation_response,
    presentation_query,
    presentation_response,
    scope_for_type,
    type_of_scope,
    url_to_did_web,
    verification_key,
    verification_method,
    verify_dcp_presentation,
    verify_dcp_presentations,
    verify_self_issued_token,
)
from passerelle.jose import KeySigner, PublicKey, jwk_thumbprint, public_jwk, sign_jws
from passerelle.sd_jwt_vc import IssuerKeyPolicy, resolve_issuer_key_from
from passerelle.vc import VC_V2_CONTEXT, issue_vc_jose
from tests.conftest import NOW

CONSUMER = "did:web:ca-dataspace.example:sme"
PROVIDER = "did:web:eu-dataspace.example:provider"
ISSUER = "did:web:issuer.example"
STRANGER = "did:web:stranger.example"
SKEW = timedelta(seconds=30)
MEMBERSHIP = "MembershipCredential"
BUSINESS = "BusinessRegistrationCredential"
CREDENTIAL_SERVICE = "https://ca-dataspace.example/sme/cs"


def _signer() -> KeySigner:
    return KeySigner(ec.generate_private_key(ec.SECP256R1()))


def _document(
    did: str,
    key: KeySigner,
    *,
    relationships: tuple[str, ...] = ("authentication", "assertionMethod", "capabilityInvocation"),
    service: str | None = None,
) -> JsonObject:
    method = f"{did}#key-1"
    document: JsonObject = {
        "@context": ["https://www.w3.org/ns/did/v1", DCP_CONTEXT],
        "id": did,
        "verificationMethod": [
            {
                "id": method,
                "type": "JsonWebKey2020",
                "controller": did,
                "publicKeyJwk": public_jwk(key.public_key),
            }
        ],
    }
    for relationship in relationships:
        document[relationship] = [method]
    if service is not None:
        document["service"] = [
            {"id": f"{did}#cs", "type": "CredentialService", "serviceEndpoint": service}
        ]
    return document


class World:
    """The consumer (holder), the provider (verifier), an issuer and a stranger."""

    def __init__(self) -> None:
        self.holder = _signer()
        self.issuer = _signer()
        self.stranger = _signer()
        self.documents = {
            CONSUMER: _document(CONSUMER, self.holder, service=CREDENTIAL_SERVICE),
            ISSUER: _document(ISSUER, self.issuer),
            STRANGER: _document(STRANGER, self.stranger),
        }
        self.calls: list[str] = []
        self._resolve = key_resolver(self.documents)

    def resolve_key(self, kid: str) -> PublicKey:
        self.calls.append(kid)
        return self._resolve(kid)


@pytest.fixture(scope="module")
def world() -> World:
    return World()


@pytest.fixture
def w(world: World) -> World:
    world.calls.clear()
    return world


def _reason(fn: Callable[..., object], *args: Any, **kwargs: Any) -> Reason:
    with pytest.raises(PasserelleError) as info:
        fn(*args, **kwargs)
    return info.value.reason


# --- Self-Issued ID Tokens -----------------------------------------------------------------


def _claims(**changes: Any) -> JsonObject:
    t = int(NOW.timestamp())
    claims: JsonObject = {
        "iss": CONSUMER,
        "sub": CONSUMER,
        "aud": PROVIDER,
        "jti": "jti-1",
        "iat": t,
        "exp": t + 300,
        "token": "access-token-for-the-credential-service",
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def _token(
    w: World, *, signer: KeySigner | None = None, kid: str | None = None, **changes: Any
) -> str:
    header: dict[str, object] = {"typ": "JWT"}
    if kid != "":
        header["kid"] = kid or f"{CONSUMER}#key-1"
    return sign_jws(header, _claims(**changes), signer or w.holder)


def _verify(w: World, token: str, *, seen: set[str] | None = None, now: datetime = NOW) -> Any:
    store = set() if seen is None else seen

    def seen_jti(jti: str, exp: datetime) -> bool:
        assert exp > now - SKEW
        if jti in store:
            return True
        store.add(jti)
        return False

    return verify_self_issued_token(
        token,
        audience=PROVIDER,
        resolve_key=w.resolve_key,
        now=now,
        skew=SKEW,
        seen_jti=seen_jti,
    )


def test_a_self_issued_token_round_trips(w: World) -> None:
    token = create_self_issued_token(
        holder_did=CONSUMER,
        audience=PROVIDER,
        access_token="opaque-access-token",
        signer=w.holder,
        kid=f"{CONSUMER}#key-1",
        now=NOW,
        lifetime=timedelta(minutes=5),
        jti="a-fresh-jti",
    )
    verified = _verify(w, token)
    assert verified.iss == CONSUMER
    assert verified.aud == PROVIDER
    assert verified.jti == "a-fresh-jti"
    assert verified.access_token == "opaque-access-token"
    assert verified.exp == NOW + timedelta(minutes=5)
    assert verified.claims["sub"] == CONSUMER
    assert verified.claims["nbf"] == verified.claims["iat"]
    assert w.calls == [f"{CONSUMER}#key-1"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        # DCP TCK 4.3.1: an ID token that does not contain an access token.
        ({"token": None}, Reason.DCP_ACCESS_TOKEN_MISSING),
        ({"token": ""}, Reason.DCP_ACCESS_TOKEN_MISSING),
        # 4.3.3 expired (exp in the past, beyond the skew).
        ({"exp": int(NOW.timestamp()) - 31}, Reason.DCP_TOKEN_EXPIRED),
        # 4.3.3 incorrect aud.
        ({"aud": STRANGER}, Reason.DCP_AUDIENCE_MISMATCH),
        ({"aud": [STRANGER, "did:web:other.example"]}, Reason.DCP_AUDIENCE_MISMATCH),
        # 4.3.3 iss and sub different / sub does not match.
        ({"sub": STRANGER}, Reason.DCP_ISS_SUB_MISMATCH),
        # 4.3.3 nbf in the future; an iat in the future is as bad.
        ({"nbf": int(NOW.timestamp()) + 1_000_000}, Reason.DCP_TOKEN_NOT_YET_VALID),
        ({"iat": int(NOW.timestamp()) + 3600}, Reason.DCP_TOKEN_NOT_YET_VALID),
        # Required claims and their shapes.
        ({"jti": None}, Reason.DCP_TOKEN_INVALID),
        ({"exp": None}, Reason.DCP_TOKEN_INVALID),
        ({"iat": None}, Reason.DCP_TOKEN_INVALID),
        ({"exp": "tomorrow"}, Reason.DCP_TOKEN_INVALID),
        (
            {"iss": "https://not-a-did.example", "sub": "https://not-a-did.example"},
            Reason.DCP_TOKEN_INVALID,
        ),
    ],
)
def test_token_checks_have_their_reasons(w: World, changes: dict[str, Any], reason: Reason) -> None:
    assert _reason(lambda: _verify(w, _token(w, **changes))) is reason


def test_an_audience_array_holding_ours_is_accepted(w: World) -> None:
    assert _verify(w, _token(w, aud=[STRANGER, PROVIDER])).aud == PROVIDER


def test_the_skew_tolerates_a_token_that_just_expired(w: World) -> None:
    assert _verify(w, _token(w, exp=int(NOW.timestamp()) - 10)).jti == "jti-1"


def test_a_jti_is_single_use(w: World) -> None:
    # DCP TCK 4.3.3 jti: the same jti twice, with different access tokens.
    seen: set[str] = set()
    _verify(w, _token(w, jti="once", token="first"), seen=seen)
    replay = _token(w, jti="once", token="second")
    assert _reason(lambda: _verify(w, replay, seen=seen)) is Reason.DCP_JTI_REPLAYED
    assert seen == {"once"}


def test_a_token_signed_by_another_key_is_invalid(w: World) -> None:
    forged = _token(w, signer=w.stranger)
    assert _reason(lambda: _verify(w, forged)) is Reason.DCP_TOKEN_INVALID


def test_a_kid_of_another_did_is_refused_before_any_lookup(w: World) -> None:
    # DCP TCK 4.3.3 "bound to a different iss/sub": a key of the stranger's DID cannot
    # speak for the consumer, however valid its signature.
    token = _token(w, signer=w.stranger, kid=f"{STRANGER}#key-1")
    assert _reason(lambda: _verify(w, token)) is Reason.DCP_TOKEN_INVALID
    assert w.calls == []


def test_the_signature_is_checked_before_what_the_token_claims(w: World) -> None:
    # Expired AND forged: reported as forged, since nothing in it can be believed.
    token = _token(w, signer=w.stranger, exp=int(NOW.timestamp()) - 3600)
    assert _reason(lambda: _verify(w, token)) is Reason.DCP_TOKEN_INVALID


def test_a_token_without_kid_uses_the_only_method(w: World) -> None:
    verified = _verify(w, _token(w, kid=""))
    assert verified.kid is None
    assert w.calls == [CONSUMER]


def test_a_relative_kid_is_resolved_against_iss(w: World) -> None:
    _verify(w, _token(w, kid="#key-1"))
    assert w.calls == [f"{CONSUMER}#key-1"]


@pytest.mark.parametrize(
    "token",
    ["", "not.a.jwt", "a.b", "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0."],
)
def test_garbage_is_an_invalid_token(w: World, token: str) -> None:
    assert _reason(lambda: _verify(w, token)) is Reason.DCP_TOKEN_INVALID


def test_another_jwt_type_is_not_an_id_token(w: World) -> None:
    token = sign_jws({"typ": "vp+jwt", "kid": f"{CONSUMER}#key-1"}, _claims(), w.holder)
    assert _reason(lambda: _verify(w, token)) is Reason.DCP_TOKEN_INVALID


def test_the_capability_invocation_relationship_can_be_required(w: World) -> None:
    holder = _signer()
    document = _document(CONSUMER, holder, relationships=(AUTHENTICATION,))
    resolve = key_resolver({CONSUMER: document}, relationship=CAPABILITY_INVOCATION)
    token = sign_jws({"kid": f"{CONSUMER}#key-1"}, _claims(), holder)
    with pytest.raises(PasserelleError) as info:
        verify_self_issued_token(
            token,
            audience=PROVIDER,
            resolve_key=resolve,
            now=NOW,
            skew=SKEW,
            seen_jti=lambda _j, _e: False,
        )
    assert info.value.reason is Reason.DID_KEY_NOT_FOUND


def test_creating_a_token_with_a_foreign_kid_is_a_local_error(w: World) -> None:
    with pytest.raises(PasserelleError) as info:
        create_self_issued_token(
            holder_did=CONSUMER,
            audience=PROVIDER,
            access_token="t",
            signer=w.holder,
            kid=f"{STRANGER}#key-1",
            now=NOW,
            lifetime=timedelta(minutes=5),
            jti="j",
        )
    assert info.value.fault is Fault.LOCAL


# --- did:web and DID documents ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("did", "url"),
    [
        # did:web method specification, "Create (Register)" examples.
        ("did:web:w3c-ccg.github.io", "https://w3c-ccg.github.io/.well-known/did.json"),
        ("did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"),
        ("did:web:example.com%3A3000:user:alice", "https://example.com:3000/user/alice/did.json"),
        ("did:web:example.com%3A3000", "https://example.com:3000/.well-known/did.json"),
    ],
)
def test_did_web_urls_follow_the_method_spec(did: str, url: str) -> None:
    assert did_web_to_url(did) == url
    assert url_to_did_web(url) == did
    assert url_to_did_web(did_web_base_url(did)) == did


def test_base_urls() -> None:
    assert did_web_base_url("did:web:w3c-ccg.github.io") == "https://w3c-ccg.github.io"
    assert did_web_base_url("did:web:example.com%3A3000:user:alice") == (
        "https://example.com:3000/user/alice"
    )
    assert url_to_did_web("https://Example.COM/") == "did:web:example.com"
    assert url_to_did_web("https://example.com/a:b") == "did:web:example.com:a%3Ab"


@pytest.mark.parametrize(
    "did",
    [
        "did:web:",
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "did:web:192.168.0.1",  # "MUST NOT include IP addresses"
        "did:web:127.0.0.1%3A8106:sme",  # loopback only with the development relaxation
        "did:web:evil.example%2Fpath",
        "did:web:example.com:user%2F..%2Fadmin",
        "did:web:example.com:..",
        "did:web:example.com:%2e%2e",
        "did:web:example.com::alice",
        "did:web:example.com%3A0",
        "did:web:example.com%3A99999",
        "did:web:example.com#key-1",
        "did:web:exa mple.com",
        "did:web:-bad-.example",
    ],
)
def test_malformed_did_web_is_refused(did: str) -> None:
    assert _reason(lambda: did_web_to_url(did)) is Reason.DID_INVALID


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com",
        "https://example.com/?q=1",
        "https://user@example.com",
        "https://10.0.0.1/sme",
        "ftp://example.com",
    ],
)
def test_urls_that_name_no_did_web(url: str) -> None:
    assert _reason(lambda: url_to_did_web(url)) is Reason.DID_INVALID


def test_the_laptop_stack_on_loopback() -> None:
    did = "did:web:127.0.0.1%3A8106:sme"
    assert did_web_to_url(did, allow_insecure_loopback=True) == "http://127.0.0.1:8106/sme/did.json"
    assert url_to_did_web("http://127.0.0.1:8106/sme", allow_insecure_loopback=True) == did
    # A public host stays https even with the relaxation on.
    assert did_web_base_url("did:web:example.com", allow_insecure_loopback=True) == (
        "https://example.com"
    )
    assert _reason(lambda: url_to_did_web("http://example.com", allow_insecure_loopback=True)) is (
        Reason.DID_INVALID
    )


LOOPBACK_SME = "did:web:127.0.0.1%3A8106:sme"


def test_the_tls_laptop_stack_resolves_loopback_dids_over_https() -> None:
    # `passerelle up --tls`: the DID names a loopback address, its document is on https.
    assert did_web_to_url(LOOPBACK_SME, allow_loopback=True) == (
        "https://127.0.0.1:8106/sme/did.json"
    )
    assert did_web_base_url(LOOPBACK_SME, allow_loopback=True) == "https://127.0.0.1:8106/sme"
    assert url_to_did_web("https://127.0.0.1:8106/sme", allow_loopback=True) == LOOPBACK_SME
    assert url_to_did_web("https://127.0.0.1:8106/sme/did.json", allow_loopback=True) == (
        LOOPBACK_SME
    )
    assert did_web_to_url("did:web:127.0.0.1%3A8101", allow_loopback=True) == (
        "https://127.0.0.1:8101/.well-known/did.json"
    )
    # A loopback name stays https too: only the insecure relaxation changes the scheme.
    assert did_web_to_url("did:web:localhost%3A8104", allow_loopback=True) == (
        "https://localhost:8104/.well-known/did.json"
    )


@pytest.mark.parametrize(
    "resolve",
    [
        lambda: did_web_to_url(LOOPBACK_SME),
        lambda: did_web_base_url(LOOPBACK_SME),
        lambda: url_to_did_web("https://127.0.0.1:8106/sme"),
        # allow_loopback is about this machine only: another IP address is still refused.
        lambda: did_web_to_url("did:web:10.0.0.1%3A8106:sme", allow_loopback=True),
        lambda: did_web_to_url("did:web:192.168.0.1", allow_insecure_loopback=True),
        lambda: did_web_to_url("did:web:0.0.0.0%3A8106", allow_loopback=True),
        lambda: url_to_did_web("https://169.254.169.254/latest", allow_loopback=True),
        # Plain http is the insecure relaxation's alone, even on loopback.
        lambda: url_to_did_web("http://127.0.0.1:8106/sme", allow_loopback=True),
        lambda: url_to_did_web("http://localhost:8106/sme", allow_loopback=True),
    ],
    ids=[
        "no-flag-to-url",
        "no-flag-base-url",
        "no-flag-from-url",
        "private-ip",
        "private-ip-insecure",
        "unspecified-ip",
        "link-local-ip",
        "http-without-insecure",
        "http-localhost-without-insecure",
    ],
)
def test_loopback_relaxations_are_refused_where_they_do_not_apply(
    resolve: Callable[[], str],
) -> None:
    assert _reason(resolve) is Reason.DID_INVALID


def test_plain_http_only_with_the_insecure_relaxation() -> None:
    # Both flags, as the connector sets them on the stack without TLS: http, and the
    # insecure flag alone implies loopback hosts (an http document on this machine is
    # named by this machine's address).
    for flags in (
        {"allow_insecure_loopback": True},
        {"allow_loopback": True, "allow_insecure_loopback": True},
    ):
        assert did_web_to_url(LOOPBACK_SME, **flags) == "http://127.0.0.1:8106/sme/did.json"
        assert url_to_did_web("http://127.0.0.1:8106/sme", **flags) == LOOPBACK_SME
        assert url_to_did_web("https://127.0.0.1:8106/sme", **flags) == LOOPBACK_SME
    assert did_web_to_url(LOOPBACK_SME, allow_loopback=True).startswith("https://")


def test_a_did_web_issuer_on_tls_loopback_is_named_by_its_https_url() -> None:
    # The trust evaluator looks a did:web issuer up by did_web_base_url: on the TLS
    # stack that is the issuer's https URL, as the registry lists it.
    did = "did:web:127.0.0.1%3A8101"
    signer = _signer()
    document = _document(did, signer)
    kid = f"{did}#key-1"
    policy = IssuerKeyPolicy(did_documents={did: document}, allow_loopback=True)
    resolved = resolve_issuer_key_from(iss=did, x5c=None, kid=kid, policy=policy, now=NOW)
    assert resolved.issuer == "https://127.0.0.1:8101"
    assert jwk_thumbprint(resolved.key) == jwk_thumbprint(signer.public_key)
    strict = IssuerKeyPolicy(did_documents={did: document})
    assert (
        _reason(lambda: resolve_issuer_key_from(iss=did, x5c=None, kid=kid, policy=strict, now=NOW))
        is Reason.DID_INVALID
    )


def test_did_of_key_id() -> None:
    assert did_of_key_id("did:web:example.com%3A3000:a#key-1") == "did:web:example.com%3A3000:a"
    assert did_of_key_id(ISSUER) == ISSUER
    assert _reason(lambda: did_of_key_id("#key-1")) is Reason.DID_INVALID


def test_verification_methods(w: World) -> None:
    document = w.documents[ISSUER]
    key = verification_key(document, f"{ISSUER}#key-1")
    assert jwk_thumbprint(key) == jwk_thumbprint(w.issuer.public_key)
    assert verification_key(document, "#key-1", relationship=AUTHENTICATION) is not None
    assert verification_method(document, ISSUER)["id"] == f"{ISSUER}#key-1"  # the only one
    for kid in (f"{ISSUER}#key-2", f"{STRANGER}#key-1"):
        assert _reason(verification_key, document, kid) is Reason.DID_KEY_NOT_FOUND


def test_without_kid_several_methods_are_ambiguous(w: World) -> None:
    document = _document(ISSUER, w.issuer)
    methods = document["verificationMethod"]
    assert isinstance(methods, list)
    methods.append({**methods[0], "id": f"{ISSUER}#key-2"})  # type: ignore[dict-item]
    assert _reason(lambda: verification_key(document, ISSUER)) is Reason.DID_KEY_NOT_FOUND
    assert verification_key(document, f"{ISSUER}#key-2") is not None


def test_did_web_documents_use_absolute_method_ids(w: World) -> None:
    # did:web "Key Material and Document Handling": DID URLs in the document "must be
    # an absolute URL", against key confusion.
    document = _document(ISSUER, w.issuer)
    methods = document["verificationMethod"]
    assert isinstance(methods, list)
    methods[0] = {**methods[0], "id": "#key-1"}  # type: ignore[dict-item]
    assert _reason(lambda: verification_key(document, f"{ISSUER}#key-1")) is Reason.DID_INVALID


def test_key_resolver_checks_the_document_is_the_dids(w: World) -> None:
    resolve = key_resolver({ISSUER: w.documents[STRANGER]})
    assert _reason(lambda: resolve(f"{ISSUER}#key-1")) is Reason.DID_INVALID
    assert _reason(lambda: key_resolver({})(f"{ISSUER}#key-1")) is Reason.DID_UNRESOLVED


def test_credential_service_endpoint(w: World) -> None:
    assert credential_service_endpoint(w.documents[CONSUMER]) == CREDENTIAL_SERVICE
    slash = _document(CONSUMER, w.holder, service=CREDENTIAL_SERVICE + "/")
    assert credential_service_endpoint(slash) == CREDENTIAL_SERVICE
    loopback = _document(CONSUMER, w.holder, service="http://127.0.0.1:8106/sme/cs")
    assert credential_service_endpoint(loopback, allow_insecure_loopback=True) == (
        "http://127.0.0.1:8106/sme/cs"
    )


def _with_services(w: World, services: list[Any]) -> JsonObject:
    document = _document(CONSUMER, w.holder)
    document["service"] = services
    return document


@pytest.mark.parametrize(
    "services",
    [
        [],
        [{"id": f"{CONSUMER}#x", "type": "LinkedDomains", "serviceEndpoint": "https://x.example"}],
        [
            {
                "id": f"{CONSUMER}#cs",
                "type": "CredentialService",
                "serviceEndpoint": "http://x.example",
            }
        ],
        [{"id": f"{CONSUMER}#cs", "type": "CredentialService", "serviceEndpoint": {"uri": "x"}}],
        [
            {
                "id": f"{CONSUMER}#a",
                "type": "CredentialService",
                "serviceEndpoint": "https://a.example",
            },
            {
                "id": f"{CONSUMER}#b",
                "type": "CredentialService",
                "serviceEndpoint": "https://b.example",
            },
        ],
    ],
)
def test_credential_service_unresolved(w: World, services: list[Any]) -> None:
    document = _with_services(w, services)
    assert _reason(lambda: credential_service_endpoint(document)) is (
        Reason.DCP_CREDENTIAL_SERVICE_UNRESOLVED
    )


# --- Resolution API messages and scopes --------------------------------------------------------

TCK_MEMBERSHIP_SCOPE = "org.eclipse.dspace.dcp.vc.type:MembershipCredential:read"


def test_scopes_and_types() -> None:
    assert scope_for_type(MEMBERSHIP) == TCK_MEMBERSHIP_SCOPE  # the DCP TCK's own string
    assert type_of_scope(TCK_MEMBERSHIP_SCOPE) == MEMBERSHIP
    assert type_of_scope("org.eclipse.dspace.dcp.vc.type:Member") == "Member"  # the spec's
    for bad in (
        "org.eclipse.dspace.dcp.vc.id:8247b87d-8d72-47e1-8128-9ce47e3d829d",
        "org.eclipse.dspace.dcp.vc.type:",
        "org.eclipse.dspace.dcp.vc.type:Member:write",
        "Member",
    ):
        assert _reason(type_of_scope, bad) is Reason.DCP_SCOPE_INVALID
    assert _reason(lambda: scope_for_type("Two Words")) is Reason.DCP_SCOPE_INVALID


def test_a_query_round_trips() -> None:
    scopes = [scope_for_type(MEMBERSHIP), scope_for_type(BUSINESS)]
    message = presentation_query(scopes)
    assert message == {
        "@context": [DCP_CONTEXT],
        "type": "PresentationQueryMessage",
        "scope": scopes,
    }
    assert parse_presentation_query(message) == scopes
    assert parse_presentation_query(
        b'{"@context":["%s"],"type":"PresentationQueryMessage",'
        b'"scope":["a:b","a:b"]}' % DCP_CONTEXT.encode()
    ) == ["a:b"]


@pytest.mark.parametrize(
    "body",
    [
        {"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage", "scope": []},
        {"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage"},
        {"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage", "scope": ["no alias"]},
        {"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage", "scope": ["plain"]},
        {"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage", "scope": [3]},
        {"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage", "scope": "a:b"},
        {
            "@context": ["https://example.com/ctx"],
            "type": "PresentationQueryMessage",
            "scope": ["a:b"],
        },
        {"@context": [DCP_CONTEXT], "type": "PresentationResponseMessage", "scope": ["a:b"]},
        {
            "@context": [DCP_CONTEXT],
            "type": "PresentationQueryMessage",
            "scope": ["a:b"],
            "presentationDefinition": {"id": "pd"},
        },
        ["not", "an", "object"],
        b"{not json",
    ],
)
def test_bad_queries(body: Any) -> None:
    assert _reason(lambda: parse_presentation_query(body)) is Reason.DCP_SCOPE_INVALID


def test_a_presentation_definition_alone_is_told_apart() -> None:
    body: JsonObject = {
        "@context": [DCP_CONTEXT],
        "type": "PresentationQueryMessage",
        "presentationDefinition": {"id": "pd"},
    }
    assert is_presentation_definition_query(body)  # DCP 1.0: 501 Not Implemented
    assert _reason(lambda: parse_presentation_query(body)) is Reason.DCP_SCOPE_INVALID
    assert not is_presentation_definition_query({**body, "scope": ["a:b"]})  # 400


def test_responses() -> None:
    message = presentation_response(["a.b.c"])
    assert parse_presentation_response(message) == ["a.b.c"]
    # An empty answer is valid on the wire; it is the verifier that refuses it.
    assert parse_presentation_response(presentation_response([])) == []
    for bad in (
        {"@context": [DCP_CONTEXT], "type": "PresentationResponseMessage"},
        {"@context": [DCP_CONTEXT], "type": "PresentationResponseMessage", "presentation": [{}]},
        {"@context": [DCP_CONTEXT], "type": "PresentationResponseMessage", "presentation": ["x"]},
        {"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage", "presentation": []},
    ):
        assert _reason(parse_presentation_response, bad) is (Reason.DCP_PRESENTATION_INVALID)
    assert _reason(lambda: presentation_query([])) is Reason.DCP_SCOPE_INVALID


# --- vc20-bssl/jwt presentations -----------------------------------------------------------------

STATUS_ENTRY: JsonObject = {
    "id": "https://issuer.example/status/3#94567",
    "type": "BitstringStatusListEntry",
    "statusPurpose": "revocation",
    "statusListIndex": "94567",
    "statusListCredential": "https://issuer.example/status/3",
}


def _credential(
    w: World,
    credential_type: str = MEMBERSHIP,
    *,
    subject: str = CONSUMER,
    issuer: str = ISSUER,
    signer: KeySigner | None = None,
    kid: str | None = f"{ISSUER}#key-1",
    valid: tuple[timedelta, timedelta] = (timedelta(days=-30), timedelta(days=335)),
) -> str:
    credential: JsonObject = {
        "@context": [VC_V2_CONTEXT],
        "type": ["VerifiableCredential", credential_type],
        "issuer": issuer,
        "validFrom": (NOW + valid[0]).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "validUntil": (NOW + valid[1]).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "credentialSubject": {"id": subject, "memberOf": "Canada-EU data space"},
        "credentialStatus": [STATUS_ENTRY],
    }
    return issue_vc_jose(credential, signer=signer or w.issuer, kid=kid)


def _presentation(
    w: World,
    credentials: list[str],
    *,
    holder: str = CONSUMER,
    signer: KeySigner | None = None,
    kid: str = f"{CONSUMER}#key-1",
    audience: str = PROVIDER,
) -> str:
    return create_dcp_presentation(
        credentials,
        holder_did=holder,
        signer=signer or w.holder,
        kid=kid,
        audience=audience,
        now=NOW,
        lifetime=timedelta(minutes=5),
    )


def _check(w: World, vp: str, *, required: tuple[str, ...] = (MEMBERSHIP,), **kw: Any) -> Any:
    return verify_dcp_presentation(
        vp,
        holder_did=kw.pop("holder_did", CONSUMER),
        audience=kw.pop("audience", PROVIDER),
        resolve_key=w.resolve_key,
        now=kw.pop("now", NOW),
        required_types=required,
        skew=SKEW,
    )


def test_a_presentation_verifies_and_returns_status_entries(w: World) -> None:
    verified = _check(w, _presentation(w, [_credential(w)]))
    assert verified.holder == CONSUMER
    assert verified.kid == f"{CONSUMER}#key-1"
    assert verified.types >= {MEMBERSHIP, "VerifiableCredential"}
    (credential,) = verified.credentials_of_type(MEMBERSHIP)
    assert credential.issuer == ISSUER
    assert credential.kid == f"{ISSUER}#key-1"
    assert credential.status == (STATUS_ENTRY,)  # for passerelle.status_list, unchecked
    assert credential.valid_until == NOW + timedelta(days=335)
    assert w.calls == [f"{CONSUMER}#key-1", f"{ISSUER}#key-1"]


def test_extra_credentials_beyond_the_query_are_accepted(w: World) -> None:
    # DCP TCK 5.4.2.2: more credentials than requested.
    vp = _presentation(w, [_credential(w), _credential(w, BUSINESS)])
    verified = _check(w, vp)
    assert {c.types[-1] for c in verified.credentials} == {MEMBERSHIP, BUSINESS}


def test_a_missing_credential_type(w: World) -> None:
    # DCP TCK 5.4.2.1 (another credential than requested) and 5.4.2.4 (none at all).
    other = _presentation(w, [_credential(w, BUSINESS)])
    assert _reason(lambda: _check(w, other)) is Reason.DCP_CREDENTIAL_MISSING
    empty = _presentation(w, [])
    assert _reason(lambda: _check(w, empty)) is Reason.DCP_CREDENTIAL_MISSING
    assert _check(w, empty, required=()).credentials == ()


def test_expired_and_not_yet_valid_credentials(w: World) -> None:
    # DCP TCK 5.4.3.7 and 5.4.3.6; the profile says "use validUntil".
    expired = _credential(w, valid=(timedelta(days=-30), timedelta(seconds=-100)))
    assert _reason(lambda: _check(w, _presentation(w, [expired]))) is Reason.CREDENTIAL_EXPIRED
    future = _credential(w, valid=(timedelta(hours=1), timedelta(days=30)))
    assert _reason(lambda: _check(w, _presentation(w, [future]))) is (
        Reason.CREDENTIAL_NOT_YET_VALID
    )


def test_a_credential_about_someone_else(w: World) -> None:
    # DCP TCK 5.4.3: the holder does not match the credentialSubject.id.
    vp = _presentation(w, [_credential(w, subject=STRANGER)])
    assert _reason(lambda: _check(w, vp)) is Reason.DCP_HOLDER_MISMATCH


def test_a_presentation_of_another_holder(w: World) -> None:
    stranger_vp = _presentation(
        w,
        [_credential(w, subject=STRANGER)],
        holder=STRANGER,
        signer=w.stranger,
        kid=f"{STRANGER}#key-1",
    )
    assert _reason(lambda: _check(w, stranger_vp)) is Reason.DCP_HOLDER_MISMATCH
    assert w.calls == []


def test_a_presentation_signed_with_another_dids_key(w: World) -> None:
    claims = _claims_of(_presentation(w, [_credential(w)]))
    vp = sign_jws({"typ": "vp+jwt", "kid": f"{STRANGER}#key-1"}, claims, w.stranger)
    assert _reason(lambda: _check(w, vp)) is Reason.DCP_HOLDER_MISMATCH


def test_a_forged_presentation_signature(w: World) -> None:
    vp = _presentation(w, [_credential(w)], signer=w.stranger)
    assert _reason(lambda: _check(w, vp)) is Reason.DCP_PRESENTATION_INVALID


def test_a_bad_issuer_signature(w: World) -> None:
    forged = _credential(w, signer=w.stranger)  # kid says the issuer's key
    assert _reason(lambda: _check(w, _presentation(w, [forged]))) is (Reason.JWS_INVALID_SIGNATURE)


def test_the_issuer_is_the_did_of_the_verification_method(w: World) -> None:
    # DCP 1.0 §5.4 step 4: a stranger's key cannot sign for the issuer, and its
    # document is never even looked up.
    credential = _credential(w, signer=w.stranger, kid=f"{STRANGER}#key-1")
    assert _reason(lambda: _check(w, _presentation(w, [credential]))) is (Reason.VC_ISSUER_MISMATCH)
    assert f"{STRANGER}#key-1" not in w.calls


def test_the_audience_of_the_presentation(w: World) -> None:
    vp = _presentation(w, [_credential(w)], audience=STRANGER)
    assert _reason(lambda: _check(w, vp)) is Reason.DCP_AUDIENCE_MISMATCH
    assert _check(w, vp, audience=None).audience is None


def test_an_expired_presentation(w: World) -> None:
    vp = _presentation(w, [_credential(w)])
    later = NOW + timedelta(minutes=10)
    assert _reason(lambda: _check(w, vp, now=later)) is Reason.JWT_EXPIRED


def _claims_of(token: str) -> JsonObject:
    from passerelle.jose import decode_unverified_jws

    return decode_unverified_jws(token).payload_json()


def test_a_vcdm_1_1_presentation_is_not_this_profile(w: World) -> None:
    # What the DCP TCK generates today (vc11-sl2021/jwt): a JWT with a vp claim.
    claims: JsonObject = {
        "iss": CONSUMER,
        "aud": PROVIDER,
        "iat": int(NOW.timestamp()),
        "vp": {
            "@context": ["https://www.w3.org/2018/credentials/v1"],
            "type": "VerifiablePresentation",
            "verifiableCredential": [_credential(w)],
        },
    }
    vp = sign_jws({"typ": "JWT", "kid": f"{CONSUMER}#key-1"}, claims, w.holder)
    assert _reason(lambda: _check(w, vp)) is Reason.DCP_PRESENTATION_INVALID
    typed = sign_jws({"typ": "vp+jwt", "kid": f"{CONSUMER}#key-1"}, claims, w.holder)
    assert _reason(lambda: _check(w, typed)) is Reason.DCP_PRESENTATION_INVALID


def test_holder_and_iss_must_agree(w: World) -> None:
    claims = {**_claims_of(_presentation(w, [_credential(w)])), "iss": STRANGER}
    vp = sign_jws({"typ": "vp+jwt", "kid": f"{CONSUMER}#key-1"}, claims, w.holder)
    assert _reason(lambda: _check(w, vp)) is Reason.DCP_PRESENTATION_INVALID
    only_iss = {
        k: v for k, v in _claims_of(_presentation(w, [_credential(w)])).items() if k != "holder"
    }
    vp = sign_jws({"typ": "vp+jwt", "kid": f"{CONSUMER}#key-1"}, only_iss, w.holder)
    assert _check(w, vp).holder == CONSUMER


def test_a_whole_response(w: World) -> None:
    first = _presentation(w, [_credential(w)])
    second = _presentation(w, [_credential(w, BUSINESS)])
    response = parse_presentation_response(presentation_response([first, second]))
    verified = verify_dcp_presentations(
        response,
        holder_did=CONSUMER,
        audience=PROVIDER,
        resolve_key=w.resolve_key,
        now=NOW,
        required_types=(MEMBERSHIP, BUSINESS),
    )
    assert len(verified) == 2
    # DCP TCK 5.4.2.3: an empty presentation array is refused.
    for required, reason in (
        ((MEMBERSHIP,), Reason.DCP_CREDENTIAL_MISSING),
        ((), Reason.DCP_PRESENTATION_INVALID),
    ):
        assert (
            _reason(
                verify_dcp_presentations,
                [],
                holder_did=CONSUMER,
                audience=PROVIDER,
                resolve_key=w.resolve_key,
                now=NOW,
                required_types=required,
            )
            is reason
        )
