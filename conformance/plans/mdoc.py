"""ISO/IEC 18013-5 mdocs (``mso_mdoc``) in the issuer and verifier plans.

Issuer checks (a target's ``mdoc_configurations``, each with the PKI names of its IACA
``anchors``): the metadata of OpenID4VCI 1.0 Appendix A.2.2; the MSO signed under a
document signer certificate of the Annex B profile chaining to the IACA; the digest
algorithm and every element's digest; the validity window; the device key the key
proof proved. The MSO is judged at the instant it says it was signed for everything but
its validity window, so that each check fails for its own reason only.

Verifier checks (a target's ``present_mdoc``): an honest mdoc presentation is
accepted; then one thing wrong at a time must be refused: the SessionTranscript (the
OIDF ``invalid-session-transcript`` module), an element, the docType, the device key,
an expired MSO, a revoked mdoc (signed by the suite as the ``identity`` document
signer, with a status list only the suite hosts, at a URI never served before).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import cbor2
from cryptography import x509

from passerelle import PasserelleError
from passerelle._json import b64url_decode
from passerelle.jose import jwk_thumbprint
from passerelle.mdoc import (
    DIGEST_ALGORITHMS,
    StatusReference,
    UnverifiedIssuerSigned,
    decode_unverified_issuer_signed,
    public_key_from_cose_key,
    verify_issuer_signed,
)
from passerelle.services.runtime import SecretsRandom
from passerelle.status_list import (
    StatusValue,
    create_status_list,
    create_status_list_token,
    draw_index,
    with_statuses,
)

from .._context import CheckContext
from .._holder import Issued, discover, obtain_shared
from .._hosting import DocumentHost
from .._mdoc import (
    MdocFault,
    MdocHolding,
    mdoc_query,
    now_validity,
    present_mdoc,
    presented_mdoc,
    resigned,
)
from .._model import CheckError, CheckFailed, CheckSkipped, ErrorClass, Requirement
from .._presenting import expect_accepted, expect_refused, status_host, suite_pki
from .._registry import check, expect

__all__: list[str] = []

_ISO = "ISO/IEC 18013-5:2021"
_ISO_LINK = "https://www.iso.org/standard/69084.html"
_VCI = "https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html"
_VP = "https://openid.net/specs/openid-4-verifiable-presentations-1_0.html"
_STATUS = "https://datatracker.ietf.org/doc/html/draft-ietf-oauth-status-list"
_SKEW = timedelta(seconds=60)


def _iso(section: str, text: str) -> Requirement:
    # ISO/IEC 18013-5 is not freely published: its rules are paraphrased, and say so.
    return Requirement(spec=_ISO, section=section, text=f"(paraphrased) {text}", link=_ISO_LINK)


# --- issuer ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _IssuedMdoc:
    configuration: str
    issued: Issued
    data: bytes
    read: UnverifiedIssuerSigned
    mso: Mapping[Any, Any]
    anchors: tuple[x509.Certificate, ...]


def _configurations(ctx: CheckContext) -> list[tuple[str, str, tuple[str, ...]]]:
    listed = ctx.target.get("mdoc_configurations")
    if not isinstance(listed, dict) or not listed:
        raise CheckSkipped(f"{ctx.target.name} lists no mdoc_configurations")
    out = []
    for name, entry in listed.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("persona"), str):
            raise CheckError(ErrorClass.SUITE, f"mdoc_configurations.{name} needs a persona")
        anchors = entry.get("anchors", [])
        out.append((str(name), str(entry["persona"]), tuple(str(a) for a in anchors)))
    return out


def _mso(read: UnverifiedIssuerSigned) -> Mapping[Any, Any]:
    payload = read.issuer_auth[2]
    assert isinstance(payload, bytes)
    outer = cbor2.loads(payload)
    mso = cbor2.loads(outer.value) if isinstance(outer, cbor2.CBORTag) else outer
    if not isinstance(mso, dict):
        raise CheckFailed("the MSO is not a map")
    return mso


def _issued_mdocs(ctx: CheckContext) -> list[_IssuedMdoc]:
    found = []
    for configuration, persona, anchor_names in _configurations(ctx):
        issued = obtain_shared(ctx, ctx.target.name, configuration, persona)
        if issued.format != "mso_mdoc":
            raise CheckFailed(f"{configuration} is issued as {issued.format}, not mso_mdoc")
        try:
            data = b64url_decode(issued.credential)
            read = decode_unverified_issuer_signed(data)
        except PasserelleError as exc:
            raise CheckFailed(
                f"{configuration}: the credential is no base64url IssuerSigned: {exc.detail}"
            ) from exc
        pki = suite_pki(ctx)
        try:
            anchors = tuple(pki.certificate(a) for a in anchor_names)
        except PasserelleError as exc:
            raise CheckError(ErrorClass.SUITE, f"mdoc anchors: {exc.detail}") from exc
        found.append(_IssuedMdoc(configuration, issued, data, read, _mso(read), anchors))
    return found


@check(
    "ISS-MDOC-01",
    "An mso_mdoc configuration states its doctype and claims as [namespace, element], "
    "and issues that docType",
    plan="issuer",
    requirement=Requirement(
        spec="OpenID4VCI 1.0",
        section="A.2.2",
        text="doctype: REQUIRED. String identifying the Credential type, as defined in "
        "[ISO.18013-5].",
        link=f"{_VCI}#appendix-A.2.2",
    ),
)
def _mdoc_metadata(ctx: CheckContext) -> None:
    for mdoc in _issued_mdocs(ctx):
        config = discover(ctx, ctx.target).configuration(mdoc.configuration)
        expect(config.get("format") == "mso_mdoc", f"{mdoc.configuration}: format is not mso_mdoc")
        doctype = config.get("doctype")
        expect(isinstance(doctype, str) and doctype, f"{mdoc.configuration}: no doctype")
        meta = config.get("credential_metadata")
        claims = meta.get("claims", []) if isinstance(meta, dict) else []
        bad = [
            c.get("path")
            for c in claims
            if not (isinstance(c, dict) and len(c.get("path", [])) == 2)
        ]
        expect(
            not bad, f"{mdoc.configuration}: claim paths that are not [namespace, element]: {bad}"
        )
        expect(
            mdoc.read.doc_type == doctype,
            f"{mdoc.configuration}: the MSO is for {mdoc.read.doc_type!r}, not {doctype!r}",
        )


@check(
    "ISS-MDOC-02",
    "The MSO is signed by a document signer certificate of the Annex B profile that chains "
    "to the issuer's IACA",
    plan="issuer",
    catches=("issuer:sign_with_unlisted_key",),
    requirement=_iso(
        "9.1.2.4 and Annex B",
        "The MSO shall be signed by the issuing authority infrastructure using the document "
        "signer key; the document signer certificate shall be included in the x5chain.",
    ),
)
def _mdoc_signer(ctx: CheckContext) -> None:
    for mdoc in _issued_mdocs(ctx):
        expect(mdoc.anchors, f"{mdoc.configuration}: no IACA anchors named for it")
        # Judged at the instant the MSO says it was signed: its validity is ISS-MDOC-04's.
        at = mdoc.read.validity.signed + timedelta(seconds=1)
        try:
            verify_issuer_signed(mdoc.data, anchors=list(mdoc.anchors), now=at)
        except PasserelleError as exc:
            raise CheckFailed(
                f"{mdoc.configuration}: {exc.detail}", reason=str(exc.reason)
            ) from exc


@check(
    "ISS-MDOC-03",
    "The MSO uses a digest algorithm of ISO/IEC 18013-5, and every element matches its "
    "digest with a salt of at least 16 bytes",
    plan="issuer",
    requirement=_iso(
        "9.1.2.5",
        "The digest algorithm shall be one of SHA-256, SHA-384 or SHA-512; random shall be "
        "at least 16 bytes long.",
    ),
)
def _mdoc_digests(ctx: CheckContext) -> None:
    for mdoc in _issued_mdocs(ctx):
        algorithm = mdoc.mso.get("digestAlgorithm")
        expect(
            algorithm in DIGEST_ALGORITHMS,
            f"{mdoc.configuration}: digestAlgorithm {algorithm!r} is not SHA-256/384/512",
        )
        digests = mdoc.mso.get("valueDigests", {})
        for namespace, items in mdoc.read.items.items():
            for identifier, raw in items.items():
                item = cbor2.loads(raw)
                expect(len(item.get("random", b"")) >= 16, f"{namespace}/{identifier}: short salt")
                actual = hashlib.new(
                    DIGEST_ALGORITHMS[str(algorithm)], cbor2.dumps(cbor2.CBORTag(24, raw))
                ).digest()
                expected = digests.get(namespace, {}).get(item.get("digestID"))
                expect(actual == expected, f"{namespace}/{identifier} does not match its digest")


@check(
    "ISS-MDOC-04",
    "The MSO is valid when issued: signed ≤ validFrom ≤ now < validUntil",
    plan="issuer",
    catches=("issuer:mdoc_expired",),
    requirement=_iso(
        "9.1.2.4",
        'The "validFrom" element shall be equal or later than the "signed" element; the '
        "MSO is valid from validFrom until validUntil.",
    ),
)
def _mdoc_validity(ctx: CheckContext) -> None:
    now = ctx.now()
    for mdoc in _issued_mdocs(ctx):
        v = mdoc.read.validity
        expect(v.signed <= v.valid_from, f"{mdoc.configuration}: validFrom is before signed")
        # A just-issued MSO may start a clock skew ahead; it must not have ended already.
        expect(
            v.valid_from <= now + _SKEW and now < v.valid_until,
            f"{mdoc.configuration}: valid {v.valid_from.isoformat()} to "
            f"{v.valid_until.isoformat()}, not now ({now.isoformat()})",
        )


@check(
    "ISS-MDOC-05",
    "The MSO's device key is the key the wallet proved possession of",
    plan="issuer",
    catches=("issuer:mdoc_foreign_device_key",),
    requirement=_iso(
        "9.1.2.4",
        "The DeviceKeyInfo of the MSO shall contain the public key of the device key pair "
        "the mdoc uses for mdoc authentication.",
    ),
)
def _mdoc_device_key(ctx: CheckContext) -> None:
    for mdoc in _issued_mdocs(ctx):
        info = mdoc.mso.get("deviceKeyInfo")
        cose_key = info.get("deviceKey") if isinstance(info, dict) else None
        try:
            key = public_key_from_cose_key(cose_key)
        except PasserelleError as exc:
            raise CheckFailed(f"{mdoc.configuration}: deviceKey: {exc.detail}") from exc
        proved = mdoc.issued.holder_key.public_key()
        expect(
            jwk_thumbprint(key) == jwk_thumbprint(proved),
            f"{mdoc.configuration}: the MSO binds another device key than the proof's",
        )


# --- verifier ----------------------------------------------------------------------------


def _honest(ctx: CheckContext) -> tuple[MdocHolding, dict[str, object]]:
    holding, setting = presented_mdoc(ctx, ctx.target)
    doctype = holding.unverified().doc_type
    return holding, mdoc_query(doctype, setting.paths)


def _control(ctx: CheckContext) -> tuple[MdocHolding, dict[str, object]]:
    """The honest presentation first (once per run): a refusal below must be about its
    one fault, not about mdocs in general."""
    holding, query = _honest(ctx)

    def run() -> bool:
        shown = present_mdoc(ctx, ctx.target, holding, query)
        expect_accepted(shown.outcome, "an honest mdoc presentation")
        return True

    ctx.shared(f"mdoc:control:{ctx.target.name}", run)
    return holding, query


@check(
    "VER-MDOC-01",
    "An honest mdoc presentation (DeviceResponse over the SessionTranscript) is accepted",
    plan="verifier",
    requirement=Requirement(
        spec="OpenID4VP 1.0",
        section="B.2.6.1",
        text="If the presentation request is invoked using redirects, the SessionTranscript "
        "CBOR structure as defined in Section 9.1.5.1 in [ISO.18013-5] MUST be used with the "
        "following changes ...",
        link=f"{_VP}#appendix-B.2.6.1",
    ),
)
def _mdoc_honest(ctx: CheckContext) -> None:
    holding, query = _honest(ctx)
    shown = present_mdoc(ctx, ctx.target, holding, query, prerequisite=False)
    expect_accepted(shown.outcome, "an honest mdoc presentation")


def _refused(ctx: CheckContext, fault: MdocFault, what: str) -> None:
    holding, query = _control(ctx)
    shown = present_mdoc(ctx, ctx.target, holding, query, fault=fault)
    expect_refused(shown.outcome, what)


@check(
    "VER-MDOC-02",
    "An mdoc signed over another SessionTranscript is refused",
    plan="verifier",
    catches=("verifier:ignore_mdoc_device_auth",),
    oidf="oid4vp-1final-verifier-invalid-session-transcript",
    requirement=_iso(
        "9.1.3.6",
        "The mdoc reader shall verify the device signature (DeviceAuthentication over the "
        "SessionTranscript) using the device key from the MSO.",
    ),
)
def _mdoc_transcript(ctx: CheckContext) -> None:
    _refused(ctx, MdocFault.WRONG_TRANSCRIPT, "an mdoc bound to another SessionTranscript")


@check(
    "VER-MDOC-03",
    "An mdoc with an element changed after issuance is refused",
    plan="verifier",
    requirement=_iso(
        "9.3.1",
        "The mdoc reader shall verify that the digest of each IssuerSignedItem matches the "
        "value in the valueDigests of the MSO.",
    ),
)
def _mdoc_tampered(ctx: CheckContext) -> None:
    _refused(ctx, MdocFault.TAMPERED_ELEMENT, "an mdoc with a tampered element")


@check(
    "VER-MDOC-04",
    "A document whose docType is not its MSO's is refused",
    plan="verifier",
    requirement=_iso(
        "9.3.1",
        "The mdoc reader shall verify that the DocType in the MSO matches the relevant "
        "DocType in the Documents structure.",
    ),
)
def _mdoc_doctype(ctx: CheckContext) -> None:
    _refused(ctx, MdocFault.WRONG_DOCTYPE, "a document with another docType than its MSO")


@check(
    "VER-MDOC-05",
    "An mdoc whose device signature is not made by the MSO's device key is refused",
    plan="verifier",
    catches=("verifier:ignore_mdoc_device_auth",),
    requirement=_iso(
        "9.1.3.6",
        "The mdoc reader shall verify the device signature using the device key (deviceKey "
        "in the MSO).",
    ),
)
def _mdoc_device_key_wrong(ctx: CheckContext) -> None:
    _refused(ctx, MdocFault.OTHER_DEVICE_KEY, "an mdoc signed by another device key")


@check(
    "VER-MDOC-06",
    "An mdoc whose MSO validUntil has passed is refused",
    plan="verifier",
    catches=("verifier:accept_expired",),
    requirement=_iso(
        "9.3.1",
        "The mdoc reader shall verify that the current timestamp shall be equal or later "
        'than the "validFrom" element and the "validUntil" element shall be equal or later '
        "than the current timestamp.",
    ),
)
def _mdoc_expired(ctx: CheckContext) -> None:
    holding, query = _control(ctx)
    _, setting = presented_mdoc(ctx, ctx.target)
    now = ctx.now()
    valid = resigned(ctx, holding, setting, validity=now_validity(now, expired=False))
    control = present_mdoc(ctx, ctx.target, valid, query)
    # A verifier that refuses the suite's own (valid) mdocs tells nothing about expiry.
    if not control.outcome.accepted:
        raise CheckSkipped("the verifier refuses a valid mdoc the suite signed as `identity`")
    expired = resigned(ctx, holding, setting, validity=now_validity(now, expired=True))
    shown = present_mdoc(ctx, ctx.target, expired, query)
    expect_refused(shown.outcome, "an expired mdoc")


def _status_mdoc(
    ctx: CheckContext,
    holding: MdocHolding,
    host: DocumentHost,
    status: StatusValue,
    now: datetime,
) -> MdocHolding:
    """``holding`` signed again by the suite with a status reference into a list only
    the suite hosts, at a URI never served before, saying ``status`` from the start."""
    _, setting = presented_mdoc(ctx, ctx.target)
    if setting.identity is None:
        raise CheckSkipped("present_mdoc names no identity to sign a status list with")
    pki = suite_pki(ctx)
    uri = host.fresh_url("status")
    size = 1 << 10
    index = draw_index(size=size, random=SecretsRandom())
    listed = with_statuses(create_status_list(bits=2, size=size), [(index, int(status))])
    try:
        token = create_status_list_token(
            listed,
            uri=uri,
            signer=pki.signer(setting.identity),
            now=now - timedelta(seconds=5),
            ttl=timedelta(minutes=5),
            valid_for=timedelta(hours=1),
            x5c=pki.x5c(setting.identity),
        )
    except PasserelleError as exc:
        raise CheckError(ErrorClass.SUITE, f"cannot sign a status list: {exc.detail}") from exc
    host.publish(uri, token.encode("ascii"), "application/statuslist+jwt")
    return resigned(
        ctx,
        holding,
        setting,
        validity=now_validity(now, expired=False),
        status=StatusReference(idx=index, uri=uri),
    )


@check(
    "VER-MDOC-07",
    "A revoked mdoc (Token Status List in its MSO) is refused",
    plan="verifier",
    catches=("verifier:skip_status", "verifier:forge_status_trace"),
    requirement=Requirement(
        spec="draft-ietf-oauth-status-list",
        section="8.3",
        text="If the validation was successful, the Relying Party MUST perform the following "
        "validation steps to evaluate the status of the Referenced Token:",
        link=f"{_STATUS}#section-8.3",
    ),
)
def _mdoc_revoked(ctx: CheckContext) -> None:
    holding, query = _control(ctx)
    now = ctx.now()
    with status_host(ctx, ctx.target) as host:
        valid = _status_mdoc(ctx, holding, host, StatusValue.VALID, now)
        control = present_mdoc(ctx, ctx.target, valid, query)
        if not control.outcome.accepted:
            raise CheckSkipped(
                "the verifier refuses a valid mdoc whose status list the suite hosts "
                f"(reason {control.outcome.reason!r}); the suite cannot isolate this fault"
            )
        revoked = _status_mdoc(ctx, holding, host, StatusValue.INVALID, now)
        shown = present_mdoc(ctx, ctx.target, revoked, query)
    expect_refused(shown.outcome, "a revoked mdoc")
