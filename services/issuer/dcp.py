"""The issuer's data-space path: VC Data Model 2.0 credentials, secured as ``vc+jwt``,
for ``did:web`` holders (the Decentralized Claims Protocol profile ``vc20-bssl/jwt``).

The OpenID4VCI routes of :mod:`.app` issue SD-JWT VCs and VCDM 1.1 JWTs to wallets; a
data-space participant is an organisation named by a ``did:web`` and holds VCDM 2.0
credentials in its Credential Service. What differs, and lives here:

- the issuer is its own ``did:web`` (the DID of its base URL), whose document at
  ``/.well-known/did.json`` lists the signing key as a ``JsonWebKey`` under
  ``assertionMethod``; a credential's header ``kid`` is that method's DID URL. An EU
  issuer's JWK carries its ``x5c`` chain, so LoTE lists still find it by certificate;
- issuance is an admin call (``POST /admin/dcp/credentials``): the operator vouches for
  the holder, standing in for DCP's holder-initiated issuance flow, which needs a
  self-issued token and a callback to the holder's Credential Service;
- status is the W3C Bitstring Status List, one list per purpose (``revocation``,
  ``suspension``) and one entry per purpose in each credential. Indexes are drawn at
  random and reserved by an atomic insert in the store, so they are never reused,
  across restarts and replicas too (the profile's own Token Status Lists do the same).
  DCP's profile says to ignore ``ttl`` and cache a status list by ``validUntil``, so
  the list credential lives only minutes and is re-signed on every fetch.

Which types an issuer offers, and from which data, is the ``dcp`` section of its
profile file, read by :func:`load_dcp_profile`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from passerelle import JsonObject, JsonValue, PasserelleError, RandomSource, Reason
from passerelle._errors import local_error
from passerelle._json import parse_json_object
from passerelle._time import format_date_time
from passerelle.catalog import check_mandatory_claims, resolve_type_metadata, validate_claims
from passerelle.dcp import did_web_to_url
from passerelle.jose import Signer
from passerelle.sd_jwt_vc import NEVER_DISCLOSABLE
from passerelle.services.catalog import Catalog, data_root
from passerelle.services.fetch import is_loopback_url
from passerelle.services.pki import Pki, did_web_identifier, issuer_did_document
from passerelle.services.storage import Store
from passerelle.services.trust.sources import load_source
from passerelle.status_list import (
    MIN_BITSTRING_ENTRIES,
    StatusPurpose,
    allocate_index,
    create_bitstring,
    create_bitstring_status_entry,
    create_bitstring_status_list_credential,
    with_bits,
)
from passerelle.vc import VC_JWT_TYP, VC_V2_CONTEXT, issue_vc_jose

from .dates import day_of
from .profile import PROFILES_DIR, IssuerProfile

__all__ = [
    "DCP_PROFILE",
    "BitstringStatusLists",
    "DcpCredentialType",
    "DcpIssuer",
    "DcpProfile",
    "IssuanceRequest",
    "change_bitstring_status",
    "check_did_web",
    "create_dcp_issuer",
    "load_dcp_profile",
    "parse_issuance_request",
]

DCP_PROFILE = "vc20-bssl/jwt"
"""The DCP profile these credentials follow (DCP 1.0, "Profiles of the DCP")."""
DCP_FORMAT = "jwt"
"""A DCP Credential Container's ``format`` for an enveloped JOSE credential."""
DID_MEDIA_TYPE = "application/did+json"
STATUS_LIST_LIFETIME = timedelta(minutes=5)
# check_bitstring_status allows no clock skew on validFrom: back-date it a little so a
# verifier whose clock runs behind ours does not see a list from the future.
STATUS_LIST_BACKDATE = timedelta(seconds=30)
MAX_ALLOCATION_ATTEMPTS = 16
MAX_DID_LENGTH = 512

# Members of an SD-JWT VC payload that are not subject claims; a VCDM 2.0 credential
# says the same things with its own members (issuer, validUntil, credentialStatus).
_NOT_SUBJECT_CLAIMS = NEVER_DISCLOSABLE | {"iat", "sub", "id"}
_REQUEST_MEMBERS = frozenset({"holder", "type", "subject", "persona"})


def _bad_request(detail: str) -> PasserelleError:
    return PasserelleError(Reason.INPUT_MALFORMED, detail)


# --- profile -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DcpCredentialType:
    """One W3C credential type an issuer offers on the data-space path."""

    w3c_type: str
    schema: JsonObject
    """JSON Schema 2020-12 of the subject claims (``credentialSubject`` without ``id``)."""
    valid_for_days: int
    samples: Mapping[str, JsonObject]
    """Subject claims by persona name."""
    vct: str | None = None
    """The catalogue type the claims come from, whose schema requires its ``vct``."""

    def check_subject(self, claims: JsonObject, *, catalog: Catalog) -> None:
        """Raise ``input.malformed`` or ``schema.violation`` unless ``claims`` may be
        the subject of this type."""
        reserved = sorted(set(claims) & _NOT_SUBJECT_CLAIMS)
        if reserved:
            raise _bad_request(
                f"subject members {reserved} are not subject claims: the issuer sets them "
                "(credentialSubject.id is the request's holder)"
            )
        if self.vct is None:
            validate_claims(claims, schema=self.schema)
            return
        # The catalogue's schemas describe an SD-JWT VC's claims, which carry the vct.
        validate_claims({**claims, "vct": self.vct}, schema=self.schema)
        resolved = resolve_type_metadata(self.vct, documents=catalog.type_metadata_documents)
        check_mandatory_claims(claims, resolved)


@dataclass(frozen=True, slots=True, kw_only=True)
class DcpProfile:
    """The ``dcp`` section of an issuer profile."""

    signing_key: str
    types: Mapping[str, DcpCredentialType]


def _profile_error(name: str, detail: str) -> PasserelleError:
    return local_error(Reason.INPUT_MALFORMED, f"issuer profile {name}, dcp: {detail}")


def _read_type(name: str, w3c_type: str, entry: JsonValue, catalog: Catalog) -> DcpCredentialType:
    if not isinstance(entry, dict):
        raise _profile_error(name, f"{w3c_type} is not a mapping")
    days = entry.get("valid_for_days", 365)
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise _profile_error(name, f"{w3c_type}: valid_for_days must be a positive integer")
    type_id = entry.get("type_id")
    if type_id is not None:
        ctype = catalog.types.get(str(type_id))
        if ctype is None:
            raise _profile_error(name, f"{w3c_type}: unknown type_id {type_id!r}")
        samples = {
            persona: {k: v for k, v in sample.items() if k not in _NOT_SUBJECT_CLAIMS}
            for persona, sample in ctype.samples.items()
        }
        kind = DcpCredentialType(
            w3c_type=w3c_type,
            schema=ctype.schema,
            valid_for_days=days,
            samples=samples,
            vct=ctype.vct,
        )
    else:
        schema_path = entry.get("schema")
        if not isinstance(schema_path, str):
            raise _profile_error(name, f"{w3c_type} needs a type_id or a schema")
        schema = parse_json_object(
            (data_root() / "schemas" / schema_path).read_bytes(), what=schema_path
        )
        raw = entry.get("samples") or {}
        if not isinstance(raw, dict) or not all(isinstance(s, dict) for s in raw.values()):
            raise _profile_error(name, f"{w3c_type}: samples must map personas to claims")
        kind = DcpCredentialType(
            w3c_type=w3c_type,
            schema=schema,
            valid_for_days=days,
            samples={p: cast("JsonObject", s) for p, s in raw.items()},
        )
    # A sample the schema refuses would only fail at issuance: fail at start-up instead.
    for persona, claims in kind.samples.items():
        try:
            kind.check_subject(claims, catalog=catalog)
        except PasserelleError as exc:
            raise _profile_error(name, f"{w3c_type} persona {persona}: {exc.detail}") from exc
    return kind


def load_dcp_profile(name: str, *, catalog: Catalog) -> DcpProfile | None:
    """The ``dcp`` section of ``profiles/<name>.yaml``, or None if the issuer has none."""
    doc = load_source(PROFILES_DIR / f"{name}.yaml")
    section = doc.get("dcp")
    if section is None:
        return None
    if not isinstance(section, dict):
        raise _profile_error(name, "not a mapping")
    signing_key = section.get("signing_key")
    raw_types = section.get("credential_types")
    if not isinstance(signing_key, str) or not signing_key:
        raise _profile_error(name, "signing_key is missing")
    if not isinstance(raw_types, dict) or not raw_types:
        raise _profile_error(name, "credential_types is empty")
    types = {t: _read_type(name, t, entry, catalog) for t, entry in raw_types.items()}
    return DcpProfile(signing_key=signing_key, types=types)


# --- requests ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuanceRequest:
    """``POST /admin/dcp/credentials``: a holder DID, a W3C type, and either the subject
    claims or the name of a sample persona."""

    holder: str
    type: str
    subject: JsonObject | None = None
    persona: str | None = None


def check_did_web(value: JsonValue, *, what: str = "holder", allow_loopback: bool = False) -> str:
    """``value`` if it is a ``did:web`` the core would resolve (one rule: the core's), or
    raise ``did.invalid``. Nothing is fetched: the admin vouches for the holder."""
    if not isinstance(value, str) or len(value) > MAX_DID_LENGTH:
        raise PasserelleError(Reason.DID_INVALID, f"{what} is not a did:web string")
    did_web_to_url(value, allow_loopback=allow_loopback)
    return value


def parse_issuance_request(body: bytes, *, allow_loopback: bool = False) -> IssuanceRequest:
    """Parse the request body strictly, or raise (``input.*``, ``did.invalid``): unknown
    members are refused, and exactly one of ``subject`` and ``persona`` is given."""
    doc = parse_json_object(body, what="DCP issuance request")
    unknown = sorted(set(doc) - _REQUEST_MEMBERS)
    if unknown:
        raise _bad_request(f"unknown members {unknown}")
    holder = check_did_web(doc.get("holder"), allow_loopback=allow_loopback)
    w3c_type = doc.get("type")
    if not isinstance(w3c_type, str) or not w3c_type:
        raise _bad_request("type must be a W3C credential type name")
    subject, persona = doc.get("subject"), doc.get("persona")
    if (subject is None) == (persona is None):
        raise _bad_request("give exactly one of subject and persona")
    if subject is not None and not isinstance(subject, dict):
        raise _bad_request("subject must be an object of claims")
    if persona is not None and (not isinstance(persona, str) or not persona):
        raise _bad_request("persona must be a non-empty string")
    return IssuanceRequest(
        holder=holder,
        type=w3c_type,
        subject=subject if isinstance(subject, dict) else None,
        persona=persona if isinstance(persona, str) else None,
    )


# --- bitstring status lists --------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class BitstringStatusLists:
    """An issuer's two Bitstring Status Lists (revocation, suspension), kept in the store.

    Every allocated index is a row ``{"set": bool, "credential_id": ...}`` of its
    purpose's collection; the published list credential is rebuilt from the rows.
    """

    store: Store
    name: str
    """Names the collections: ``bitstring_<name>_<purpose>``."""
    base_url: str
    issuer: str
    kid: str
    signer: Signer
    random: RandomSource
    size: int = MIN_BITSTRING_ENTRIES
    lifetime: timedelta = STATUS_LIST_LIFETIME

    def url(self, purpose: StatusPurpose) -> str:
        """The ``statusListCredential`` URL, which is also the list credential's ``id``."""
        return f"{self.base_url}/status/bitstring/{purpose.value}"

    def _collection(self, purpose: StatusPurpose) -> str:
        return f"bitstring_{self.name}_{purpose.value}".replace("-", "_")

    def allocate(self, purpose: StatusPurpose, *, now: datetime, credential_id: str) -> int:
        """Reserve a fresh random index of the ``purpose`` list, never handed out before."""
        collection = self._collection(purpose)
        for _ in range(MAX_ALLOCATION_ATTEMPTS):
            index = allocate_index(
                size=self.size,
                is_taken=lambda i: self.store.get(collection, str(i), now=now) is not None,
                random=self.random,
            )
            row: JsonObject = {"set": False, "credential_id": credential_id}
            # The look-up above is only a hint; this insert is what reserves the index.
            if self.store.insert(collection, str(index), row, now=now):
                return index
        raise PasserelleError(
            Reason.STATUS_LIST_EXHAUSTED, f"no free index in {collection} after retries"
        )

    def set_bit(self, purpose: StatusPurpose, index: int, value: bool, *, now: datetime) -> None:
        def change(row: JsonValue) -> JsonValue:
            if not isinstance(row, dict):
                raise PasserelleError(
                    Reason.STATUS_INDEX_OUT_OF_RANGE, f"index {index} was never allocated"
                )
            return {**row, "set": value}

        self.store.update(self._collection(purpose), str(index), change, now=now)

    def is_set(self, purpose: StatusPurpose, index: int, *, now: datetime) -> bool:
        row = self.store.get(self._collection(purpose), str(index), now=now)
        if not isinstance(row, dict):
            raise PasserelleError(Reason.STATUS_INDEX_OUT_OF_RANGE, f"index {index} not allocated")
        return row.get("set") is True

    def credential(self, purpose: StatusPurpose, *, now: datetime) -> str:
        """The ``BitstringStatusListCredential`` of ``purpose`` as it stands now, as a
        ``vc+jwt`` signed by the issuer's DID key."""
        rows = self.store.list(self._collection(purpose), now=now, limit=self.size)
        bits = [(int(key), True) for key, row in rows if isinstance(row, dict) and row.get("set")]
        credential = create_bitstring_status_list_credential(
            id=self.url(purpose),
            issuer=self.issuer,
            purpose=purpose,
            bitstring=with_bits(create_bitstring(size=self.size), bits),
            valid_from=now - STATUS_LIST_BACKDATE,
            valid_until=now + self.lifetime,
            ttl=self.lifetime,
        )
        return issue_vc_jose(credential, signer=self.signer, kid=self.kid)


# --- the issuer --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DcpIssuer:
    """Issues the data-space credentials of one issuer profile."""

    settings: DcpProfile
    catalog: Catalog
    did: str
    kid: str
    """The DID URL of the signing key's verification method."""
    signer: Signer
    document: JsonObject
    """The issuer's DID document, served at ``/.well-known/did.json``."""
    lists: BitstringStatusLists
    store: Store
    random: RandomSource
    allow_loopback_holders: bool = False
    """The laptop stack's holders are did:web on loopback addresses (development only)."""

    @property
    def versions(self) -> JsonObject:
        return {"dcp_profile": DCP_PROFILE, "vc_jose": "VC-JOSE-COSE (vc+jwt), VCDM 2.0"}

    def _subject(self, request: IssuanceRequest, kind: DcpCredentialType) -> JsonObject:
        if request.persona is not None:
            sample = kind.samples.get(request.persona)
            if sample is None:
                raise _bad_request(
                    f"no persona {request.persona!r} for {kind.w3c_type}; "
                    f"known: {sorted(kind.samples)}"
                )
            return dict(sample)
        assert request.subject is not None
        kind.check_subject(request.subject, catalog=self.catalog)
        return dict(request.subject)

    def issue(self, request: IssuanceRequest, *, now: datetime) -> JsonObject:
        """Sign a credential for ``request`` and record it in ``issuances``; the answer
        the admin route returns."""
        kind = self.settings.types.get(request.type)
        if kind is None:
            raise _bad_request(
                f"{request.type!r} is not issued here; known: {sorted(self.settings.types)}"
            )
        claims = self._subject(request, kind)
        credential_id = str(uuid.UUID(bytes=self.random.token_bytes(16), version=4))
        indexes = {
            purpose: self.lists.allocate(purpose, now=now, credential_id=credential_id)
            for purpose in StatusPurpose
        }
        entries = {
            purpose: create_bitstring_status_entry(
                purpose=purpose, index=index, list_credential=self.lists.url(purpose)
            )
            for purpose, index in indexes.items()
        }
        # Start of the UTC day, as for the other formats: credentials issued the same
        # morning cannot be told apart by their validity.
        day = day_of(now)
        valid_until = day + timedelta(days=kind.valid_for_days)
        credential: JsonObject = {
            "@context": [VC_V2_CONTEXT],
            "id": f"urn:uuid:{credential_id}",
            "type": ["VerifiableCredential", kind.w3c_type],
            "issuer": self.did,
            "validFrom": format_date_time(day),
            "validUntil": format_date_time(valid_until),
            "credentialSubject": {"id": request.holder, **claims},
            "credentialStatus": list[JsonValue](entries.values()),
        }
        token = issue_vc_jose(credential, signer=self.signer, kid=self.kid)
        self.store.put(
            "issuances",
            credential_id,
            {
                "configuration": f"dcp:{kind.w3c_type}",
                "format": VC_JWT_TYP,
                "holder": request.holder,
                "status_index": None,
                "bitstring": {p.value: i for p, i in indexes.items()},
                "issued_at": now.isoformat(),
                "status": "valid",
            },
        )
        return {
            "credential": token,
            "credential_id": credential_id,
            "credential_type": kind.w3c_type,
            "format": DCP_FORMAT,
            "profile": DCP_PROFILE,
            "issuer": self.did,
            "holder": request.holder,
            "valid_until": credential["validUntil"],
            "status": {p.value: e for p, e in entries.items()},
        }

    @staticmethod
    def owns(entry: Mapping[str, object]) -> bool:
        """Whether an ``issuances`` row is a credential of this path."""
        return isinstance(entry.get("bitstring"), dict)

    def change_status(self, entry: Mapping[str, object], action: str, *, now: datetime) -> None:
        """Apply an admin action (``revoke``, ``suspend``, ``reinstate``) to the bits of
        one of our credentials. Revocation is final (Bitstring Status List §2.1), so
        ``reinstate`` lifts a suspension only."""
        change_bitstring_status(
            self.lists, cast("Mapping[str, int]", entry["bitstring"]), action, now=now
        )


def change_bitstring_status(
    lists: BitstringStatusLists, bits: Mapping[str, int], action: str, *, now: datetime
) -> None:
    """Apply an admin action to a credential's two bits (index by purpose).
    Revocation is final (Bitstring Status List §2.1): ``reinstate`` lifts a suspension
    only."""
    revocation = int(bits[StatusPurpose.REVOCATION.value])
    suspension = int(bits[StatusPurpose.SUSPENSION.value])
    if action == "revoke":
        lists.set_bit(StatusPurpose.REVOCATION, revocation, True, now=now)
    elif action == "suspend":
        lists.set_bit(StatusPurpose.SUSPENSION, suspension, True, now=now)
    elif action == "reinstate":
        if lists.is_set(StatusPurpose.REVOCATION, revocation, now=now):
            raise _bad_request("the credential is revoked; revocation cannot be undone")
        lists.set_bit(StatusPurpose.SUSPENSION, suspension, False, now=now)
    else:
        raise _bad_request(f"unknown action {action!r}")


def create_dcp_issuer(
    *,
    profile: IssuerProfile,
    catalog: Catalog,
    pki: Pki,
    base_url: str,
    store: Store,
    random: RandomSource,
) -> DcpIssuer | None:
    """The data-space issuer of ``profile``, or None if its file has no ``dcp`` section."""
    settings = load_dcp_profile(profile.id, catalog=catalog)
    if settings is None:
        return None
    did = did_web_identifier(base_url)
    document = issuer_did_document(
        pki,
        base_url=base_url,
        keys=[settings.signing_key],
        with_x5c=profile.key_discovery == "x5c",
    )
    kid = f"{did}#{pki.jwk(settings.signing_key)['kid']}"
    signer = pki.signer(settings.signing_key)
    return DcpIssuer(
        settings=settings,
        catalog=catalog,
        did=did,
        kid=kid,
        signer=signer,
        document=document,
        lists=BitstringStatusLists(
            store=store,
            name=profile.id,
            base_url=base_url,
            issuer=did,
            kid=kid,
            signer=signer,
            random=random,
        ),
        store=store,
        random=random,
        allow_loopback_holders=all(is_loopback_url(url) for url in pki.hosts.values()),
    )
