"""HAIP 1.0 (final) presentation MUSTs that no conformance check quotes, each with where
it is met (code and test) or why it is left. The sentences the checks quote (VER-REQ-05,
-06, -10, -12, -13, VER-ENC-01..03, VER-RESP-06, WAL-07) are listed by the generator
itself; together with these rows, docs/requirements.md accounts for every MUST of HAIP
1.0 §3, §5, §6.1 and §7-§8 as they bear on presentation.

Kept apart from :mod:`.requirements` (the issuance rows live there) so the two halves of
the profile can change independently.
"""

from __future__ import annotations

from ._model import Requirement

__all__ = ["HAIP_PRESENTATION"]

_HAIP = "https://openid.net/specs/openid4vc-high-assurance-interoperability-profile-1_0-final.html"
_SPEC = "OpenID4VC HAIP 1.0"


def _r(section: str, anchor: str, text: str) -> Requirement:
    return Requirement(spec=_SPEC, section=section, text=text, link=f"{_HAIP}#{anchor}")


HAIP_PRESENTATION: tuple[tuple[Requirement, str], ...] = (
    (
        _r(
            "3",
            "section-3",
            "Implementations of this specification do not have to implement all the flows "
            "listed above, but they MUST be compliant to all the requirements for a flow they "
            "choose to implement, as well as the requirements in the non-flow specific "
            "sections.",
        ),
        "Met by scope: Passerelle implements presentation via redirects (§5.1), not the W3C "
        "Digital Credentials API (§5.2); the rows of this section account for §5.1.",
    ),
    (
        _r(
            "5",
            "section-5",
            "The Wallet and Verifier MUST support at least one of the following Credential "
            "Format Profiles defined in (#vc-profiles): IETF SD-JWT VC or ISO mdoc.",
        ),
        "Met: SD-JWT VC on both sides; every presentation check (VER-PRES-02, VER-KB-*, "
        "WAL-02, WAL-03) runs on dc+sd-jwt.",
    ),
    (
        _r("5", "section-5", "The Response type MUST be vp_token."),
        "Met in code: passerelle.oid4vp refuses any other response_type "
        "(oid4vp.response_type_unsupported, tests/unit/test_oid4vp.py); the verifier only "
        "sends vp_token. No check: no honest verifier can be asked for another.",
    ),
    (
        _r(
            "5",
            "section-5",
            "Response encryption MUST be performed as specified in [OIDF.OID4VP, section "
            "8.3]. The JWE alg (algorithm) header parameter (see [RFC7516, section 4.1.1]) "
            "value ECDH-ES (as defined in [RFC7518, section 4.6]), with key agreement "
            "utilizing keys on the P-256 curve (see [RFC7518, section 6.2.1.1]) MUST be "
            "supported.",
        ),
        "Met: VER-REQ-07 (a P-256 ECDH-ES key with alg and kid), VER-PRES-02 and VER-ENC-02 "
        "(encrypted responses accepted), WAL-03 and WAL-27 (the wallet encrypts ECDH-ES).",
    ),
    (
        _r(
            "5",
            "section-5",
            "Wallets MUST support A128GCM or A256GCM, or both. If both are supported, the "
            "Wallet SHOULD use A256GCM for the JWE enc.",
        ),
        "Met: WAL-ENC-01 (the enc used is the one listed, A128GCM only and A256GCM only); "
        "the wallet's preference for A256GCM is pinned by "
        "tests/unit/test_oid4vp.py::test_wallet_picks_an_offered_enc_a256gcm_first.",
    ),
    (
        _r(
            "5",
            "section-5",
            "The Authority Key Identifier (aki)-based Trusted Authority Query "
            "(trusted_authorities) for DCQL, as defined in section 6.1.1.1 of [OIDF.OID4VP], "
            "MUST be supported.",
        ),
        "Met by the wallet (tests/e2e/test_wallet_trusted_authorities.py: an aki query "
        "selects the credentials whose chain has that key identifier). No check yet: the "
        "suite's wallet requests never carry trusted_authorities.",
    ),
    (
        _r(
            "5.1",
            "section-5.1",
            "Security considerations in Section 14.3 of [OIDF.OID4VP] MUST be applied.",
        ),
        "Met: §14.3 (an encrypted response is not integrity protected) is answered by the "
        "holder binding the verifier checks (VER-KB-01..08) and by a key per request "
        "(VER-ENC-03, tests/e2e/test_verifier_haip.py: a response made for another "
        "request's key is refused).",
    ),
    (
        _r(
            "5.1",
            "section-5.1",
            'Verifiers and Wallets MUST support the "same-device" flow.',
        ),
        "Met: a transaction opened with same_device and a redirect_uri (POST /transactions) "
        "answers the wallet's POST with the redirect (VER-RESP-06, VER-RESP-07, "
        "tests/e2e/test_verifier_haip.py); the wallet answers the same requests either way.",
    ),
    (
        _r(
            "5.1",
            "section-5.1",
            'If "same-device" flow is used, then: … Wallets MUST follow the redirect to '
            "redirect_uri.",
        ),
        "Met as far as a wallet service can: the wallet API returns the redirect_uri to its "
        "caller and the wallet page sends the browser there (services/wallet/pages.py). No "
        "check: the suite drives the wallet by its back channel, not as a user agent.",
    ),
    (
        _r(
            "5.1",
            "section-5.1",
            'If "same-device" flow is used, then: … Verifiers MUST reject presentations if '
            "Wallets do not follow the redirect back or the redirect back arrives in a "
            "different user session to the one the request was initiated in.",
        ),
        "Met: the result of a transaction that redirected is released only to a frontend "
        "presenting the redirect's response_code with the transaction id its session holds, "
        "through one view for the JSON route and the HTML page and live fragment alike, "
        "its final state and checks withheld too (OpenID4VP §13.3 step 8; "
        "oid4vp.response_code_mismatch otherwise; tests/e2e/test_verifier_haip.py). No "
        "check: a partner's result API has no agreed "
        "way to take the code.",
    ),
    (
        _r(
            "5.2",
            "section-5.2",
            "The Wallet MUST support Wallet Invocation via the W3C Digital Credentials API or "
            "an equivalent platform API. The Verifier MUST use Wallet Invocation via the W3C "
            "Digital Credentials API or an equivalent platform API.",
        ),
        "Left: the Digital Credentials API flow is not implemented (a browser platform API; "
        "§3 lets an implementation choose its flows). The rest of §5.2 (dc_api.jwt, "
        "Appendix A, unsigned and multi-signed requests) is left with it.",
    ),
    (
        _r(
            "5.3.1",
            "section-5.3.1",
            "The Credential Format identifier MUST be mso_mdoc.",
        ),
        "Left here: mso_mdoc presentation is the mdoc work (verifier format adapter, wallet "
        "DCQL for mso_mdoc); HAIP needs one format (§5) and SD-JWT VC is met.",
    ),
    (
        _r(
            "5.3.1",
            "section-5.3.1",
            "When multiple ISO mdocs are being returned, each ISO mdoc MUST be returned in a "
            "separate DeviceResponse (as defined in 8.3.2.1.2.2 of [ISO.18013-5]), each "
            "matching to a respective DCQL query.",
        ),
        "Left here with mso_mdoc presentation (the mdoc work).",
    ),
    (
        _r(
            "5.3.2",
            "section-5.3.2",
            "The Credential Format identifier MUST be dc+sd-jwt.",
        ),
        "Met: the verifier's queries and vp_formats_supported name dc+sd-jwt, the wallet "
        "answers dc+sd-jwt queries (VER-PRES-02, WAL-02).",
    ),
    (
        _r(
            "6.1",
            "section-6.1",
            "Compact serialization MUST be supported as defined in [RFC9901]. JSON "
            "serialization MAY be supported.",
        ),
        "Met: every presentation the suite and the wallet send is compact (VER-PRES-*, "
        "WAL-02); the JSON serialization is left (RFC 9901 §8 rows below).",
    ),
    (
        _r(
            "6.1",
            "section-6.1",
            "The status claim, if present, MUST contain status_list as defined in "
            "[I-D.ietf-oauth-status-list]",
        ),
        "Met at the verifier: a credential's status_list reference is fetched and judged "
        "(VER-CRED-03 revoked, VER-CRED-04 suspended).",
    ),
    (
        _r(
            "6.1.1",
            "section-6.1.1",
            "This specification mandates the support for X.509 certificate-based key "
            "resolution to validate the issuer signature of an SD-JWT VC. This MUST be "
            "supported by all entities (Issuer, Wallet, Verifier).",
        ),
        "Met at the verifier: the issuer key comes from the x5c chain, anchored in the trust "
        "lists (VER-TRUST-01, VER-CRED-05, VER-PRES-02).",
    ),
    (
        _r(
            "6.1.1.1",
            "section-6.1.1.1",
            "If the credential has cryptographic holder binding, a KB-JWT, as defined in "
            "[I-D.ietf-oauth-sd-jwt-vc], MUST always be present when presenting an SD-JWT VC.",
        ),
        "Met: VER-KB-07 (a presentation without a KB-JWT is refused); the wallet always "
        "binds (WAL-02).",
    ),
    (
        _r(
            "7",
            "section-7",
            "Issuers, Verifiers, and Wallets MUST, at a minimum, support ECDSA with P-256 and "
            "SHA-256 (JOSE algorithm identifier ES256; COSE algorithm identifier -7 or -9, as "
            "applicable) for the purpose of validating the following:",
        ),
        "Met for presentation: ES256 KB-JWTs (VER-KB-*), status list tokens (VER-CRED-03) "
        "at the verifier; ES256 signed requests at the wallet (WAL-07).",
    ),
    (
        _r(
            "8",
            "section-8",
            "The hash algorithm SHA-256 MUST be supported by all the entities to generate and "
            "validate the digests in the IETF SD-JWT VC and ISO mdoc.",
        ),
        "Met for SD-JWT VC: disclosure digests and sd_hash are SHA-256 (VER-SDJWT-01, VER-KB-06).",
    ),
)
