"""The wallet receiving credentials over OpenID4VCI 1.0: pre-authorized code (with a
transaction code) and authorization code with PAR and PKCE.

The protocol's rules are the core's (``passerelle.oid4vci``); this module only moves
messages. The one thing a person would do, log in at the issuer, is done for them when
the issuer is a Passerelle development issuer: its mock login takes a persona.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import JsonObject, JsonValue, PasserelleError, RandomSource, Reason
from passerelle._json import b64url_encode, parse_json_object
from passerelle.jose import KeySigner, PrivateKey, public_jwk
from passerelle.oid4vci import (
    CredentialIssuerMetadata,
    CredentialOffer,
    authorization_server_metadata_url,
    create_jwt_proof,
    credential_issuer_metadata_url,
    granted_credential_identifiers,
    parse_credential_issuer_metadata,
    parse_credential_offer,
    parse_offer_link,
)

from ..fetch import Fetcher
from .haip import HaipSession
from .provider import WalletProvider
from .quirks import WalletBehaviour

__all__ = ["IssuanceClient", "Received", "key_attestations_required"]

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
DEFERRED_WAIT_SECONDS = 30


@dataclass(frozen=True, slots=True, kw_only=True)
class Received:
    credential_issuer: str
    configuration_id: str
    format: str
    credentials: tuple[str, ...]
    notification_id: str | None
    metadata: JsonObject
    #: The HAIP steps taken (DPoP, wallet and key attestation, encryption), in order.
    steps: tuple[str, ...] = ()


def key_attestations_required(metadata: CredentialIssuerMetadata, configuration_id: str) -> bool:
    """OpenID4VCI 1.0 §12.2.4: the configuration's ``jwt`` proof type carries
    ``key_attestations_required`` when the issuer wants attested keys."""
    configuration = metadata.credential_configurations_supported.get(configuration_id) or {}
    proof_types = configuration.get("proof_types_supported")
    jwt = proof_types.get("jwt") if isinstance(proof_types, dict) else None
    return isinstance(jwt, dict) and "key_attestations_required" in jwt


def _fail(detail: str, reason: Reason = Reason.INPUT_MALFORMED) -> PasserelleError:
    return PasserelleError(reason, detail)


def _json(response: object, what: str) -> JsonObject:
    content = getattr(response, "content", b"")
    status = getattr(response, "status_code", 0)
    body = parse_json_object(content or b"{}", what=what)
    if status >= 400:
        error = body.get("error", "error")
        raise PasserelleError(
            Reason.INPUT_MALFORMED,
            f"{what}: {status} {error}: {body.get('error_description', '')}",
            wire_error=str(error),
        )
    return body


@dataclass(slots=True)
class IssuanceClient:
    fetcher: Fetcher
    random: RandomSource
    clock: Callable[[], datetime]
    client_id: str = "passerelle-wallet"
    redirect_uri: str = "http://127.0.0.1/wallet/callback"
    allow_insecure_loopback: bool = False
    behaviour: WalletBehaviour = field(default_factory=WalletBehaviour)
    #: The wallet provider vouching for this wallet: with it, the wallet speaks HAIP
    #: (DPoP, wallet and key attestations) wherever the issuer's metadata asks for it.
    provider: WalletProvider | None = None

    def resolve_offer(self, offer: str) -> CredentialOffer:
        """An offer from a link (``openid-credential-offer://``, ``haip-vci://``), a URL of
        an offer, or the offer JSON itself."""
        text = offer.strip()
        loopback = self.allow_insecure_loopback
        if text.startswith("{"):
            return parse_credential_offer(parse_json_object(text), allow_loopback_http=loopback)
        if text.startswith(("https://", "http://")):
            return parse_credential_offer(self.fetcher.get_json(text), allow_loopback_http=loopback)
        link = parse_offer_link(text, allow_loopback_http=loopback)
        if link.credential_offer is not None:
            return link.credential_offer
        assert link.credential_offer_uri is not None
        return parse_credential_offer(
            self.fetcher.get_json(link.credential_offer_uri), allow_loopback_http=loopback
        )

    def receive(
        self,
        offer: str,
        *,
        tx_code: str | None,
        persona: str | None,
        holder_keys: Callable[[int], Sequence[PrivateKey]],
    ) -> Received:
        """Run the offered flow to the end and return what the issuer issued."""
        resolved = self.resolve_offer(offer)
        issuer = resolved.credential_issuer
        raw = self.fetcher.get_json(credential_issuer_metadata_url(issuer))
        metadata = parse_credential_issuer_metadata(
            raw, expected_issuer=issuer, allow_loopback_http=self.allow_insecure_loopback
        )
        as_url = metadata.authorization_servers[0] if metadata.authorization_servers else issuer
        as_metadata = self.fetcher.get_json(authorization_server_metadata_url(as_url))
        session = self._session(as_metadata, raw)
        configuration_id = resolved.credential_configuration_ids[0]
        configuration = metadata.credential_configurations_supported[configuration_id]
        form, client_id = self._token_form(
            resolved,
            as_metadata,
            configuration_id,
            tx_code=tx_code,
            persona=persona,
            session=session,
        )
        token = self._token(session, str(as_metadata["token_endpoint"]), form, client_id)
        access = str(token["access_token"])
        kind = str(token.get("token_type", "Bearer"))
        sealed = session.response_encryption() if session is not None else None
        body = self._credential_request(
            metadata,
            token,
            configuration_id,
            client_id,
            holder_keys(self.behaviour.proof_count(metadata.batch_size)),
            session,
        )
        if sealed is not None:
            body["credential_response_encryption"] = sealed[0]
        answer = self._send(
            session,
            "POST",
            metadata.credential_endpoint,
            what="credential",
            json=body,
            token=(access, kind),
        )
        first = (
            HaipSession.open_response(answer, sealed)
            if sealed is not None and answer.status_code < 400
            else _json(answer, "credential")
        )
        result = self._await_deferred(metadata, first, session, (access, kind))
        credentials = result.get("credentials")
        if not isinstance(credentials, list) or not credentials:
            raise _fail("the credential response holds no credentials")
        issued = tuple(str(c["credential"]) for c in credentials if isinstance(c, dict))
        notification = result.get("notification_id")
        self._notify(session, metadata, notification, (access, kind))
        return Received(
            credential_issuer=issuer,
            configuration_id=configuration_id,
            format=str(configuration.get("format")),
            credentials=issued,
            notification_id=str(notification) if notification is not None else None,
            metadata=raw,
            steps=tuple(session.steps) if session is not None else (),
        )

    def _notify(
        self,
        session: HaipSession | None,
        metadata: CredentialIssuerMetadata,
        notification: JsonValue,
        token: tuple[str, str],
    ) -> None:
        if notification is None or not metadata.notification_endpoint:
            return
        self._send(
            session,
            "POST",
            metadata.notification_endpoint,
            what="notification",
            json={
                "notification_id": self.behaviour.notification_id(str(notification)),
                "event": "credential_accepted",
            },
            token=token,
        )

    def _token(
        self, session: HaipSession | None, url: str, form: dict[str, str], client_id: str | None
    ) -> JsonObject:
        """The token request. The wallet attestation authenticates a client that names
        itself (the code flow); a pre-authorized code is redeemed anonymously (OpenID4VCI
        §6.1: client authentication is OPTIONAL there), so an issuer that cannot check an
        attestation (a partner without the EU list of wallet providers) still serves it."""
        answer = self._send(session, "POST", url, what="token", data=form, auth=bool(client_id))
        token = _json(answer, "token")
        if session is not None and str(token.get("token_type", "")).lower() == "dpop":
            session.steps.append("token: DPoP-bound access token (token_type DPoP, cnf.jkt)")
        return token

    def _session(self, as_metadata: JsonObject, issuer_metadata: JsonObject) -> HaipSession | None:
        if self.provider is None:
            return None
        return HaipSession(
            provider=self.provider,
            fetcher=self.fetcher,
            random=self.random,
            clock=self.clock,
            as_metadata=as_metadata,
            issuer_metadata=issuer_metadata,
            behaviour=self.behaviour,
        )

    def _send(
        self,
        session: HaipSession | None,
        method: str,
        url: str,
        *,
        what: str,
        data: dict[str, str] | None = None,
        json: JsonObject | None = None,
        token: tuple[str, str] | None = None,
        auth: bool = False,
    ) -> httpx.Response:
        """A request to the issuer, with DPoP and the wallet attestation when in use."""
        if session is not None:
            return session.send(
                method,
                url,
                what=what,
                authenticate=auth,
                access_token=token[0] if token else None,
                token_type=token[1] if token else "Bearer",
                data=data,
                json=json,
            )
        headers = {"Authorization": f"Bearer {token[0]}"} if token else None
        return self.fetcher.request(method, url, data=data, json=json, headers=headers)

    def _token_form(
        self,
        resolved: CredentialOffer,
        as_metadata: JsonObject,
        configuration_id: str,
        *,
        tx_code: str | None,
        persona: str | None,
        session: HaipSession | None = None,
    ) -> tuple[dict[str, str], str | None]:
        """The token request for the offer's grant, and the client id the proofs name
        (none for a pre-authorized code, which is redeemed anonymously)."""
        grants = resolved.grants
        if grants is not None and grants.pre_authorized_code is not None:
            form = {
                "grant_type": PRE_AUTHORIZED_GRANT,
                "pre-authorized_code": grants.pre_authorized_code.pre_authorized_code,
            }
            if grants.pre_authorized_code.tx_code is not None:
                if tx_code is None:
                    raise _fail("the offer asks for a transaction code")
                form["tx_code"] = tx_code
            return form, None
        if grants is not None and grants.authorization_code is not None:
            form = self._authorize(
                as_metadata,
                configuration_id,
                grants.authorization_code.issuer_state,
                persona,
                session,
            )
            return form, self.client_id
        raise _fail("the offer has no grant this wallet supports")

    def _credential_request(
        self,
        metadata: CredentialIssuerMetadata,
        token: JsonObject,
        configuration_id: str,
        client_id: str | None,
        keys: Sequence[PrivateKey],
        session: HaipSession | None = None,
    ) -> JsonObject:
        """The credential request body: proofs of the holder keys over a fresh nonce."""
        nonce = None
        if metadata.nonce_endpoint:
            nonce = str(
                _json(self.fetcher.request("POST", metadata.nonce_endpoint), "nonce")["c_nonce"]
            )
        attested = (
            session.attest_keys(
                [k for k in keys if isinstance(k, ec.EllipticCurvePrivateKey)], nonce
            )
            # Attested keys go with the authenticated (code) flow, like the wallet
            # attestation, and wherever the configuration requires them (§12.2.4).
            if session is not None
            and (client_id is not None or key_attestations_required(metadata, configuration_id))
            and self.behaviour.attest_keys
            and all(isinstance(k, ec.EllipticCurvePrivateKey) for k in keys)
            else None
        )
        proofs: list[JsonValue] = [
            create_jwt_proof(
                signer=KeySigner(key),
                holder_jwk=public_jwk(key),
                audience=metadata.credential_issuer,
                nonce=self.behaviour.proof_nonce(nonce),
                now=self.clock(),
                client_id=client_id,
                key_attestation=attested,
            )
            for key in keys
        ]
        # §6.2/§8.2: identifiers granted in the Token Response replace the configuration id.
        identifiers = granted_credential_identifiers(token, configuration_id=configuration_id)
        body: JsonObject = (
            {"credential_identifier": identifiers[0]}
            if identifiers
            else {"credential_configuration_id": configuration_id}
        )
        body["proofs"] = {"jwt": proofs}
        return body

    def _await_deferred(
        self,
        metadata: CredentialIssuerMetadata,
        result: JsonObject,
        session: HaipSession | None,
        token: tuple[str, str],
    ) -> JsonObject:
        """Poll the deferred endpoint until the credentials come, within a bound."""
        deadline = time.monotonic() + DEFERRED_WAIT_SECONDS
        while (
            self.behaviour.await_deferred
            and "transaction_id" in result
            and "credentials" not in result
        ):
            if metadata.deferred_credential_endpoint is None or time.monotonic() > deadline:
                raise _fail("deferred issuance did not complete")
            time.sleep(float(result.get("interval", 1)))  # type: ignore[arg-type]
            result = _json(
                self._send(
                    session,
                    "POST",
                    metadata.deferred_credential_endpoint,
                    what="deferred credential",
                    json={"transaction_id": result["transaction_id"]},
                    token=token,
                ),
                "deferred credential",
            )
        return result

    def _authorize(
        self,
        as_metadata: JsonObject,
        configuration_id: str,
        issuer_state: str | None,
        persona: str | None,
        session: HaipSession | None = None,
    ) -> dict[str, str]:
        verifier = b64url_encode(self.random.token_bytes(32))
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        challenge, method = self.behaviour.pkce(verifier, s256=challenge)
        state = b64url_encode(self.random.token_bytes(12))
        request = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "code_challenge": challenge,
            "code_challenge_method": method,
            "state": state,
            "authorization_details": json.dumps(
                [{"type": "openid_credential", "credential_configuration_id": configuration_id}]
            ),
        }
        if issuer_state:
            request["issuer_state"] = issuer_state
        par_url = str(as_metadata["pushed_authorization_request_endpoint"])
        par = _json(
            self._send(session, "POST", par_url, what="PAR", data=request, auth=True),
            "pushed authorization request",
        )
        if session is not None:
            session.steps.append("PAR: pushed authorization request with PKCE S256 accepted")
        if persona is None:
            raise _fail("the authorization code flow needs a persona for the mock login")
        authorize = str(as_metadata["authorization_endpoint"])
        query = urlencode({"client_id": self.client_id, "request_uri": par["request_uri"]})
        self.fetcher.request("GET", f"{authorize}?{query}")
        login = self.fetcher.request(
            "POST", authorize, data={"request_uri": str(par["request_uri"]), "persona": persona}
        )
        location = login.headers.get("location", "")
        params = parse_qs(urlsplit(location).query)
        if login.status_code not in (302, 303) or params.get("state") != [state]:
            raise _fail("the issuer's login did not redirect back with our state")
        return {
            "grant_type": "authorization_code",
            "code": params["code"][0],
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
            "client_id": self.client_id,
        }
