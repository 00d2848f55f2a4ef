"""The one error vocabulary of Passerelle.

Every rejection anywhere in the project is a :class:`PasserelleError`::

    PasserelleError
      .reason      Reason     stable code, e.g. ``kb_jwt.nonce_mismatch``; tests assert on it
      .detail      str        a human sentence; free to change, never parsed
      .fault       Fault      PEER: the other side broke a rule; LOCAL: we were misused;
                              DEPENDENCY: a service we rely on failed us (try again later)
      .wire_error  str | None the protocol's own error code (``invalid_proof``, ...)

Reason codes are ``family.name``. The family tells the layer (``jws``, ``sd_jwt``,
``trust``, ...); services, the CLI and conformance reports print the code verbatim.
The wire error is the code the spec puts on the wire for this situation. The core
sets a sensible default per family; a protocol layer that knows better (OpenID4VCI
turns a bad key-proof signature into ``invalid_proof``) re-raises with
:meth:`PasserelleError.for_wire`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager

__all__ = ["Fault", "PasserelleError", "Reason"]


class Fault(enum.Enum):
    """Whose fault a failure is: the peer broke a rule, or the caller misused an API."""

    PEER = "peer"
    LOCAL = "local"
    DEPENDENCY = "dependency"
    """Neither side broke a rule: a service we depend on (the trust service, a status
    list's host) could not be reached or did not answer. Honest blame: a 503, never
    the caller's ``invalid_request``."""


class Reason(enum.StrEnum):
    # Input shape and bounds (DESIGN §9: sizes and nesting are bounded).
    INPUT_TOO_LARGE = "input.too_large"
    INPUT_TOO_DEEP = "input.too_deep"
    INPUT_MALFORMED = "input.malformed"

    # Outbound fetches a peer asked for (DESIGN §9): refused by policy, or the place
    # could not be reached. Never the connect error's text (no port-scan oracle).
    FETCH_SCHEME_REFUSED = "fetch.scheme_refused"
    FETCH_ADDRESS_REFUSED = "fetch.address_refused"
    FETCH_HOST_NOT_ALLOWED = "fetch.host_not_allowed"
    FETCH_UNREACHABLE = "fetch.unreachable"

    # JOSE: JWK, JWS, JWT claims.
    JWK_INVALID = "jwk.invalid"
    JWK_UNSUPPORTED = "jwk.unsupported"
    JWK_PRIVATE = "jwk.private_key_material"
    JWS_MALFORMED = "jws.malformed"
    JWS_ALG_NOT_ALLOWED = "jws.alg_not_allowed"
    JWS_ALG_MISMATCH = "jws.alg_key_mismatch"
    JWS_INVALID_SIGNATURE = "jws.invalid_signature"
    JWS_TYP_MISMATCH = "jws.typ_mismatch"
    JWS_CRIT_UNSUPPORTED = "jws.crit_unsupported"
    JWS_HEADER_INVALID = "jws.header_invalid"
    JWT_CLAIM_MISSING = "jwt.claim_missing"
    JWT_CLAIM_INVALID = "jwt.claim_invalid"
    JWT_EXPIRED = "jwt.expired"
    JWT_NOT_YET_VALID = "jwt.not_yet_valid"
    JWT_ISSUED_IN_FUTURE = "jwt.issued_in_future"

    # X.509 and x5c chains.
    X509_MALFORMED = "x509.malformed"
    X509_CHAIN_INVALID = "x509.chain_invalid"
    X509_SELF_SIGNED_LEAF = "x509.self_signed_leaf"
    X509_EXPIRED = "x509.expired"
    X509_NOT_YET_VALID = "x509.not_yet_valid"
    X509_SAN_MISMATCH = "x509.san_mismatch"
    X509_HASH_MISMATCH = "x509.hash_mismatch"
    X509_KEY_USAGE = "x509.key_usage"

    # SD-JWT, RFC 9901.
    SD_JWT_MALFORMED = "sd_jwt.malformed"
    SD_JWT_ALG_UNSUPPORTED = "sd_jwt.sd_alg_unsupported"
    SD_JWT_DISCLOSURE_MALFORMED = "sd_jwt.disclosure_malformed"
    SD_JWT_DUPLICATE_DIGEST = "sd_jwt.duplicate_digest"
    SD_JWT_DUPLICATE_DISCLOSURE = "sd_jwt.duplicate_disclosure"
    SD_JWT_UNREFERENCED_DISCLOSURE = "sd_jwt.unreferenced_disclosure"
    SD_JWT_RESERVED_CLAIM_NAME = "sd_jwt.reserved_claim_name"
    SD_JWT_CLAIM_COLLISION = "sd_jwt.claim_name_collision"
    SD_JWT_DISCLOSURE_WRONG_PLACE = "sd_jwt.disclosure_wrong_place"
    SD_JWT_INVALID_SD = "sd_jwt.invalid_sd_member"
    SD_JWT_UNDISCLOSABLE = "sd_jwt.claim_not_disclosable"
    KB_JWT_MISSING = "kb_jwt.missing"
    KB_JWT_UNEXPECTED = "kb_jwt.unexpected"
    KB_JWT_MALFORMED = "kb_jwt.malformed"
    KB_JWT_NO_HOLDER_KEY = "kb_jwt.no_holder_key"
    KB_JWT_INVALID_SIGNATURE = "kb_jwt.invalid_signature"
    KB_JWT_SD_HASH_MISMATCH = "kb_jwt.sd_hash_mismatch"
    KB_JWT_NONCE_MISMATCH = "kb_jwt.nonce_mismatch"
    KB_JWT_AUD_MISMATCH = "kb_jwt.aud_mismatch"
    KB_JWT_IAT_OUT_OF_WINDOW = "kb_jwt.iat_out_of_window"

    # ISO/IEC 18013-5 mdoc (OpenID4VCI/VP format ``mso_mdoc``).
    MDOC_MALFORMED = "mdoc.malformed"
    MDOC_INDEFINITE_LENGTH = "mdoc.indefinite_length"
    MDOC_DUPLICATE_KEY = "mdoc.duplicate_key"
    MDOC_NO_DOCUMENT = "mdoc.no_document"
    MDOC_RESPONSE_STATUS = "mdoc.response_status"
    MDOC_DOCTYPE_MISMATCH = "mdoc.doctype_mismatch"
    MDOC_ALG_UNSUPPORTED = "mdoc.alg_unsupported"
    MDOC_DIGEST_ALG_UNSUPPORTED = "mdoc.digest_algorithm_unsupported"
    MDOC_DIGEST_MISMATCH = "mdoc.digest_mismatch"
    MDOC_DIGEST_MISSING = "mdoc.digest_missing"
    MDOC_DUPLICATE_DIGEST_ID = "mdoc.duplicate_digest_id"
    MDOC_DUPLICATE_ELEMENT = "mdoc.duplicate_element"
    MDOC_SALT_TOO_SHORT = "mdoc.salt_too_short"
    MDOC_VALIDITY_INVALID = "mdoc.validity_invalid"
    MDOC_NOT_YET_VALID = "mdoc.not_yet_valid"
    MDOC_EXPIRED = "mdoc.expired"
    MDOC_X5CHAIN_MISSING = "mdoc.x5chain_missing"
    MDOC_CERTIFICATE_PROFILE = "mdoc.certificate_profile"
    MDOC_SIGNED_OUTSIDE_CERTIFICATE = "mdoc.signed_outside_certificate_validity"
    MDOC_ISSUER_SIGNATURE_INVALID = "mdoc.issuer_signature_invalid"
    MDOC_DEVICE_KEY_INVALID = "mdoc.device_key_invalid"
    MDOC_DEVICE_AUTH_MISSING = "mdoc.device_auth_missing"
    MDOC_DEVICE_MAC_KEY_MISSING = "mdoc.device_mac_key_missing"
    MDOC_DEVICE_SIGNATURE_INVALID = "mdoc.device_signature_invalid"
    MDOC_DEVICE_ELEMENT_UNAUTHORIZED = "mdoc.device_element_unauthorized"
    MDOC_STATUS_INVALID = "mdoc.status_invalid"
    MDOC_ELEMENT_NOT_FOUND = "mdoc.element_not_found"

    # SD-JWT VC.
    SD_JWT_VC_VCT_MISSING = "sd_jwt_vc.vct_missing"
    SD_JWT_VC_VCT_MISMATCH = "sd_jwt_vc.vct_mismatch"
    SD_JWT_VC_INTEGRITY_MISMATCH = "sd_jwt_vc.vct_integrity_mismatch"
    SD_JWT_VC_ISSUER_INVALID = "sd_jwt_vc.issuer_invalid"
    SD_JWT_VC_ISSUER_KEY_UNRESOLVED = "sd_jwt_vc.issuer_key_unresolved"
    SD_JWT_VC_ISSUER_METADATA_INVALID = "sd_jwt_vc.issuer_metadata_invalid"
    SD_JWT_VC_CNF_INVALID = "sd_jwt_vc.cnf_invalid"
    SD_JWT_VC_STATUS_INVALID = "sd_jwt_vc.status_invalid"
    TYPE_METADATA_INVALID = "type_metadata.invalid"
    TYPE_METADATA_EXTENDS_CYCLE = "type_metadata.extends_cycle"

    # A credential's own validity period, whatever its format (scenario 5).
    CREDENTIAL_EXPIRED = "credential.expired"
    CREDENTIAL_NOT_YET_VALID = "credential.not_yet_valid"

    # W3C Verifiable Credentials as JWT (VCDM 1.1 jwt_vc_json, VCDM 2.0 vc+jwt).
    VC_MALFORMED = "vc.malformed"
    VC_CONTEXT_INVALID = "vc.context_invalid"
    VC_TYPE_INVALID = "vc.type_invalid"
    VC_ISSUER_MISMATCH = "vc.issuer_mismatch"
    VC_HOLDER_MISMATCH = "vc.holder_mismatch"
    VP_MALFORMED = "vp.malformed"
    VP_NONCE_MISMATCH = "vp.nonce_mismatch"
    VP_AUD_MISMATCH = "vp.aud_mismatch"
    VP_IAT_OUT_OF_WINDOW = "vp.iat_out_of_window"

    # Trust evaluation (DESIGN §6): lists, registries, recognition.
    TRUST_LIST_MALFORMED = "trust.list_malformed"
    #: A trust-list source (a partner's entry) still holds a sample's placeholder.
    TRUST_SOURCE_PLACEHOLDER = "trust.source_placeholder"
    TRUST_LIST_SIGNATURE = "trust.list_signature_invalid"
    TRUST_LIST_UNTRUSTED_OPERATOR = "trust.list_operator_untrusted"
    TRUST_LIST_STALE = "trust.list_stale"
    TRUST_LIST_ROLLBACK = "trust.list_rollback"
    TRUST_ISSUER_NOT_LISTED = "trust.issuer_not_listed"
    TRUST_NOT_AUTHORIZED_FOR_TYPE = "trust.not_authorized_for_type"
    TRUST_SERVICE_WITHDRAWN = "trust.service_withdrawn"
    TRUST_NOT_RECOGNIZED = "trust.not_recognized"
    TRUST_RECOGNITION_OUT_OF_SCOPE = "trust.recognition_out_of_scope"
    TRUST_RECOGNITION_EXPIRED = "trust.recognition_expired"
    TRUST_REGISTRY_ANSWER_INVALID = "trust.registry_answer_invalid"
    TRUST_UNAVAILABLE = "trust.unavailable"

    # ToIP Trust Registry Query Protocol v2.
    TRQP_MALFORMED_QUERY = "trqp.malformed_query"
    TRQP_UNKNOWN_ENTITY = "trqp.unknown_entity"
    TRQP_UNKNOWN_AUTHORITY = "trqp.unknown_authority"
    TRQP_UNKNOWN_ACTION = "trqp.unknown_action"
    TRQP_UNKNOWN_RESOURCE = "trqp.unknown_resource"

    # Status lists (IETF Token Status List, W3C Bitstring Status List).
    STATUS_REVOKED = "status.revoked"
    STATUS_SUSPENDED = "status.suspended"
    STATUS_UNKNOWN_VALUE = "status.unknown_value"
    STATUS_LIST_INVALID = "status.list_invalid"
    STATUS_LIST_URI_MISMATCH = "status.list_uri_mismatch"
    STATUS_LIST_EXPIRED = "status.list_expired"
    STATUS_INDEX_OUT_OF_RANGE = "status.index_out_of_range"
    STATUS_LIST_EXHAUSTED = "status.list_exhausted"
    STATUS_UNAVAILABLE = "status.unavailable"

    # OpenID4VCI 1.0.
    OID4VCI_OFFER_INVALID = "oid4vci.offer_invalid"
    OID4VCI_METADATA_INVALID = "oid4vci.metadata_invalid"
    OID4VCI_AUTHORIZATION_REQUEST_INVALID = "oid4vci.authorization_request_invalid"
    OID4VCI_AUTHORIZATION_DETAILS_INVALID = "oid4vci.authorization_details_invalid"
    OID4VCI_TOKEN_REQUEST_INVALID = "oid4vci.token_request_invalid"
    OID4VCI_GRANT_TYPE_UNSUPPORTED = "oid4vci.grant_type_unsupported"
    OID4VCI_GRANT_INVALID = "oid4vci.grant_invalid"
    OID4VCI_CLIENT_INVALID = "oid4vci.client_invalid"
    OID4VCI_TX_CODE_MISSING = "oid4vci.tx_code_missing"
    OID4VCI_TX_CODE_UNEXPECTED = "oid4vci.tx_code_unexpected"
    OID4VCI_TX_CODE_MISMATCH = "oid4vci.tx_code_mismatch"
    OID4VCI_TX_CODE_ATTEMPTS_EXHAUSTED = "oid4vci.tx_code_attempts_exhausted"
    OID4VCI_PKCE_METHOD_UNSUPPORTED = "oid4vci.pkce_method_unsupported"
    OID4VCI_PKCE_MISMATCH = "oid4vci.pkce_mismatch"
    OID4VCI_ACCESS_TOKEN_INVALID = "oid4vci.access_token_invalid"
    OID4VCI_CREDENTIAL_NOT_AUTHORIZED = "oid4vci.credential_not_authorized"
    OID4VCI_CREDENTIAL_REQUEST_INVALID = "oid4vci.credential_request_invalid"
    OID4VCI_CREDENTIAL_REQUEST_DENIED = "oid4vci.credential_request_denied"
    OID4VCI_PROOF_PARAMETER_OBSOLETE = "oid4vci.proof_parameter_obsolete"
    OID4VCI_UNKNOWN_CREDENTIAL_CONFIGURATION = "oid4vci.unknown_credential_configuration"
    OID4VCI_UNKNOWN_CREDENTIAL_IDENTIFIER = "oid4vci.unknown_credential_identifier"
    OID4VCI_ENCRYPTION_PARAMETERS_INVALID = "oid4vci.encryption_parameters_invalid"
    OID4VCI_BATCH_TOO_LARGE = "oid4vci.batch_too_large"
    OID4VCI_PROOF_MISSING = "oid4vci.proof_missing"
    OID4VCI_PROOFS_MALFORMED = "oid4vci.proofs_malformed"
    OID4VCI_PROOF_TYPE_UNSUPPORTED = "oid4vci.proof_type_unsupported"
    OID4VCI_PROOF_KEY_INVALID = "oid4vci.proof_key_invalid"
    OID4VCI_PROOF_KEY_UNSUPPORTED = "oid4vci.proof_key_unsupported"
    OID4VCI_PROOF_AUD_MISMATCH = "oid4vci.proof_aud_mismatch"
    OID4VCI_PROOF_ISS_MISMATCH = "oid4vci.proof_iss_mismatch"
    OID4VCI_PROOF_TOO_OLD = "oid4vci.proof_too_old"
    OID4VCI_NONCE_MISSING = "oid4vci.nonce_missing"
    OID4VCI_NONCE_MISMATCH = "oid4vci.nonce_mismatch"
    OID4VCI_DEFERRED_REQUEST_INVALID = "oid4vci.deferred_request_invalid"
    OID4VCI_TRANSACTION_ID_INVALID = "oid4vci.transaction_id_invalid"
    OID4VCI_NOTIFICATION_REQUEST_INVALID = "oid4vci.notification_request_invalid"
    OID4VCI_NOTIFICATION_ID_INVALID = "oid4vci.notification_id_invalid"
    OID4VCI_SESSION_TRANSITION_INVALID = "oid4vci.session_transition_invalid"

    # OpenID4VCI 1.0 key attestations (Appendix D) and encrypted messages (§10).
    OID4VCI_ENCRYPTION_REQUIRED = "oid4vci.encryption_required"
    OID4VCI_RESPONSE_DECRYPTION_FAILED = "oid4vci.response_decryption_failed"
    KEY_ATTESTATION_MISSING = "key_attestation.missing"
    KEY_ATTESTATION_MALFORMED = "key_attestation.malformed"
    KEY_ATTESTATION_UNTRUSTED = "key_attestation.untrusted"
    KEY_ATTESTATION_SIGNATURE_INVALID = "key_attestation.signature_invalid"
    KEY_ATTESTATION_EXPIRED = "key_attestation.expired"
    KEY_ATTESTATION_NONCE_MISMATCH = "key_attestation.nonce_mismatch"
    KEY_ATTESTATION_KEY_NOT_ATTESTED = "key_attestation.key_not_attested"
    KEY_ATTESTATION_REQUIREMENT_UNMET = "key_attestation.requirement_unmet"

    # OAuth 2.0 DPoP, RFC 9449.
    DPOP_PROOF_MISSING = "dpop.proof_missing"
    DPOP_PROOF_INVALID = "dpop.proof_invalid"
    DPOP_HTM_MISMATCH = "dpop.htm_mismatch"
    DPOP_HTU_MISMATCH = "dpop.htu_mismatch"
    DPOP_ATH_MISMATCH = "dpop.ath_mismatch"
    DPOP_IAT_OUT_OF_WINDOW = "dpop.iat_out_of_window"
    DPOP_JTI_REPLAYED = "dpop.jti_replayed"
    DPOP_NONCE_MISSING = "dpop.nonce_missing"
    DPOP_NONCE_MISMATCH = "dpop.nonce_mismatch"
    DPOP_KEY_MISMATCH = "dpop.key_mismatch"
    DPOP_BOUND_TOKEN_AS_BEARER = "dpop.bound_token_as_bearer"
    DPOP_AUTHORIZATION_INVALID = "dpop.authorization_invalid"

    # OAuth 2.0 Attestation-Based Client Authentication (draft -07, as OpenID4VCI 1.0 pins it).
    CLIENT_ATTESTATION_MISSING = "client_attestation.missing"
    CLIENT_ATTESTATION_MALFORMED = "client_attestation.malformed"
    CLIENT_ATTESTATION_UNTRUSTED = "client_attestation.untrusted"
    CLIENT_ATTESTATION_SIGNATURE_INVALID = "client_attestation.signature_invalid"
    CLIENT_ATTESTATION_EXPIRED = "client_attestation.expired"
    CLIENT_ATTESTATION_NOT_YET_VALID = "client_attestation.not_yet_valid"
    CLIENT_ATTESTATION_SUB_MISSING = "client_attestation.sub_missing"
    CLIENT_ATTESTATION_CNF_INVALID = "client_attestation.cnf_invalid"
    CLIENT_ATTESTATION_POP_MALFORMED = "client_attestation.pop_malformed"
    CLIENT_ATTESTATION_POP_KEY_MISMATCH = "client_attestation.pop_key_mismatch"
    CLIENT_ATTESTATION_POP_SIGNATURE_INVALID = "client_attestation.pop_signature_invalid"
    CLIENT_ATTESTATION_POP_ISS_MISMATCH = "client_attestation.pop_iss_mismatch"
    CLIENT_ATTESTATION_POP_AUD_MISMATCH = "client_attestation.pop_aud_mismatch"
    CLIENT_ATTESTATION_POP_EXPIRED = "client_attestation.pop_expired"
    CLIENT_ATTESTATION_POP_IAT_OUT_OF_WINDOW = "client_attestation.pop_iat_out_of_window"
    CLIENT_ATTESTATION_POP_REPLAYED = "client_attestation.pop_replayed"
    CLIENT_ATTESTATION_CHALLENGE_MISMATCH = "client_attestation.challenge_mismatch"
    CLIENT_ATTESTATION_CLIENT_ID_MISMATCH = "client_attestation.client_id_mismatch"

    # OpenID4VP 1.0.
    OID4VP_REQUEST_INVALID = "oid4vp.request_invalid"
    OID4VP_RESPONSE_TYPE_UNSUPPORTED = "oid4vp.response_type_unsupported"
    OID4VP_RESPONSE_MODE_UNSUPPORTED = "oid4vp.response_mode_unsupported"
    OID4VP_RESPONSE_URI_MISSING = "oid4vp.response_uri_missing"
    OID4VP_REDIRECT_URI_WITH_DIRECT_POST = "oid4vp.redirect_uri_with_direct_post"
    OID4VP_NONCE_MISSING = "oid4vp.nonce_missing"
    OID4VP_DCQL_QUERY_MISSING = "oid4vp.dcql_query_missing"
    OID4VP_SCOPE_UNSUPPORTED = "oid4vp.scope_unsupported"
    OID4VP_TRANSACTION_DATA_UNSUPPORTED = "oid4vp.transaction_data_unsupported"
    OID4VP_CLIENT_METADATA_INVALID = "oid4vp.client_metadata_invalid"
    OID4VP_REQUEST_URI_METHOD_INVALID = "oid4vp.request_uri_method_invalid"
    OID4VP_CLIENT_ID_PREFIX_UNSUPPORTED = "oid4vp.client_id_prefix_unsupported"
    OID4VP_CLIENT_ID_INVALID = "oid4vp.client_id_invalid"
    OID4VP_CLIENT_ID_MISMATCH = "oid4vp.client_id_mismatch"
    OID4VP_SIGNED_REQUEST_REQUIRED = "oid4vp.signed_request_required"
    OID4VP_SIGNED_REQUEST_NOT_ALLOWED = "oid4vp.signed_request_not_allowed"
    OID4VP_REQUEST_OBJECT_INVALID = "oid4vp.request_object_invalid"
    OID4VP_REQUEST_OBJECT_AUD_INVALID = "oid4vp.request_object_aud_invalid"
    OID4VP_WALLET_NONCE_MISMATCH = "oid4vp.wallet_nonce_mismatch"
    OID4VP_DID_KEY_UNRESOLVED = "oid4vp.did_key_unresolved"
    OID4VP_PROFILE_VIOLATION = "oid4vp.profile_violation"
    OID4VP_ENCRYPTION_UNSUPPORTED = "oid4vp.encryption_unsupported"
    OID4VP_RESPONSE_DECRYPTION_FAILED = "oid4vp.response_decryption_failed"
    OID4VP_RESPONSE_NOT_ENCRYPTED = "oid4vp.response_not_encrypted"
    OID4VP_RESPONSE_INVALID = "oid4vp.response_invalid"
    OID4VP_STATE_MISMATCH = "oid4vp.state_mismatch"
    OID4VP_RESPONSE_REPLAYED = "oid4vp.response_replayed"
    OID4VP_TRANSACTION_UNKNOWN = "oid4vp.transaction_unknown"
    OID4VP_TRANSACTION_EXPIRED = "oid4vp.transaction_expired"
    OID4VP_SESSION_TRANSITION_INVALID = "oid4vp.session_transition_invalid"
    OID4VP_RESPONSE_CODE_MISMATCH = "oid4vp.response_code_mismatch"
    # Recorded when the wallet answers with an OpenID4VP error response (§8.5): the
    # refusal is the wallet's, and its own error code travels beside this one.
    OID4VP_WALLET_ERROR = "oid4vp.wallet_error"

    # DCQL (OpenID4VP 1.0 §6).
    DCQL_INVALID_QUERY = "dcql.invalid_query"
    DCQL_NO_MATCH = "dcql.no_match"
    DCQL_RESPONSE_MISMATCH = "dcql.response_mismatch"
    DCQL_REQUIRED_QUERY_UNANSWERED = "dcql.required_query_unanswered"
    DCQL_UNEXPECTED_QUERY_ID = "dcql.unexpected_query_id"
    DCQL_TOO_MANY_PRESENTATIONS = "dcql.too_many_presentations"
    DCQL_CLAIM_MISSING = "dcql.claim_missing"
    DCQL_CLAIM_VALUE_MISMATCH = "dcql.claim_value_mismatch"
    DCQL_HOLDER_BINDING_MISSING = "dcql.holder_binding_missing"
    DCQL_UNTRUSTED_AUTHORITY = "dcql.untrusted_authority"

    # The holder's own choices in a wallet.
    WALLET_HOLDER_DECLINED = "wallet.holder_declined"
    WALLET_CREDENTIAL_GONE = "wallet.credential_gone"

    # Shared schemas and crosswalks.
    SCHEMA_INVALID = "schema.invalid"
    SCHEMA_UNKNOWN = "schema.unknown"
    SCHEMA_VIOLATION = "schema.violation"
    CROSSWALK_INVALID = "crosswalk.invalid"

    # did:web documents (the data-space path's keys).
    DID_INVALID = "did.invalid"
    DID_UNRESOLVED = "did.unresolved"
    DID_KEY_NOT_FOUND = "did.key_not_found"

    # ODRL 2.2 policies.
    ODRL_POLICY_INVALID = "odrl.policy_invalid"
    ODRL_UNKNOWN_OPERAND = "odrl.unknown_operand"
    ODRL_UNKNOWN_OPERATOR = "odrl.unknown_operator"
    ODRL_CONSTRAINT_UNSATISFIED = "odrl.constraint_unsatisfied"
    ODRL_PROHIBITED = "odrl.prohibited"
    ODRL_NO_PERMISSION = "odrl.no_permission"

    # Eclipse Dataspace Protocol 2025-1.
    DSP_MESSAGE_INVALID = "dsp.message_invalid"
    DSP_INVALID_TRANSITION = "dsp.invalid_transition"
    DSP_NEGOTIATION_UNKNOWN = "dsp.negotiation_unknown"
    DSP_TRANSFER_UNKNOWN = "dsp.transfer_unknown"
    DSP_DATASET_UNKNOWN = "dsp.dataset_unknown"
    DSP_OFFER_UNKNOWN = "dsp.offer_unknown"
    DSP_AGREEMENT_UNKNOWN = "dsp.agreement_unknown"
    DSP_POLICY_DENIED = "dsp.policy_denied"
    DSP_DATA_TOKEN_INVALID = "dsp.data_token_invalid"

    # Decentralized Claims Protocol 1.0.
    DCP_TOKEN_MISSING = "dcp.token_missing"
    DCP_TOKEN_INVALID = "dcp.token_invalid"
    DCP_TOKEN_EXPIRED = "dcp.token_expired"
    DCP_TOKEN_NOT_YET_VALID = "dcp.token_not_yet_valid"
    DCP_AUDIENCE_MISMATCH = "dcp.audience_mismatch"
    DCP_ISS_SUB_MISMATCH = "dcp.iss_sub_mismatch"
    DCP_JTI_REPLAYED = "dcp.jti_replayed"
    DCP_ACCESS_TOKEN_MISSING = "dcp.access_token_missing"
    DCP_CREDENTIAL_SERVICE_UNRESOLVED = "dcp.credential_service_unresolved"
    DCP_SCOPE_INVALID = "dcp.scope_invalid"
    DCP_PRESENTATION_INVALID = "dcp.presentation_invalid"
    DCP_CREDENTIAL_MISSING = "dcp.credential_missing"
    DCP_HOLDER_MISMATCH = "dcp.holder_mismatch"

    # Conformance attestations: the suite's results, issued as credentials.
    CONFORMANCE_ATTESTATION_INVALID = "conformance.attestation_invalid"
    CONFORMANCE_ATTESTATION_MISSING = "conformance.attestation_missing"
    CONFORMANCE_ATTESTATION_EXPIRED = "conformance.attestation_expired"
    CONFORMANCE_SUBJECT_MISMATCH = "conformance.subject_mismatch"
    CONFORMANCE_REPORT_MISMATCH = "conformance.report_digest_mismatch"
    CONFORMANCE_NOT_CONFORMANT = "conformance.not_conformant"
    CONFORMANCE_PERSON_REVIEWED = "conformance.person_reviewed"


# The wire code a family maps to when the layer raising it has no better knowledge.
# Presentation-side failures are OAuth ``invalid_request``; issuance-side protocol
# layers override with ``invalid_proof``/``invalid_nonce`` where OpenID4VCI says so.
_DEFAULT_WIRE: dict[str, str] = {
    "input": "invalid_request",
    "fetch": "invalid_request",
    "jwk": "invalid_request",
    "jws": "invalid_request",
    "jwt": "invalid_request",
    "x509": "invalid_request",
    "sd_jwt": "invalid_request",
    "kb_jwt": "invalid_request",
    "sd_jwt_vc": "invalid_request",
    "mdoc": "invalid_request",
    "credential": "invalid_request",
    "vc": "invalid_request",
    "vp": "invalid_request",
    "trust": "invalid_request",
    "status": "invalid_request",
    "wallet": "access_denied",
    "did": "invalid_request",
    "odrl": "access_denied",
    "dsp": "invalid_request",
    "dcp": "invalid_token",
    "conformance": "access_denied",
    # RFC 9449 §5 and §7.1: a bad proof is invalid_dpop_proof at either server.
    "dpop": "invalid_dpop_proof",
    # Attestation-Based Client Authentication §5.2 (draft -07): invalid_client.
    "client_attestation": "invalid_client",
    # OpenID4VCI 1.0 §8.3.1.2: a key proof that does not pass is invalid_proof.
    "key_attestation": "invalid_proof",
}


# Reasons that blame a dependency of ours, whoever raises them: a decision refused for
# a stale list or an unreachable status list is the relying party's outage, not the
# presenter's error (RFC 6749 §4.1.2.1: ``temporarily_unavailable``).
_DEPENDENCY_REASONS: frozenset[str] = frozenset(
    {"trust.unavailable", "trust.list_stale", "status.unavailable"}
)


class PasserelleError(Exception):
    """A rule was broken. See the module docstring for the fields."""

    reason: Reason
    detail: str
    fault: Fault
    wire_error: str | None

    def __init__(
        self,
        reason: Reason,
        detail: str,
        *,
        fault: Fault | None = None,
        wire_error: str | None = None,
    ) -> None:
        super().__init__(f"{reason}: {detail}")
        upstream = reason in _DEPENDENCY_REASONS
        self.reason = reason
        self.detail = detail
        self.fault = fault if fault is not None else (Fault.DEPENDENCY if upstream else Fault.PEER)
        if wire_error is None:
            wire_error = (
                "temporarily_unavailable" if upstream else _DEFAULT_WIRE.get(reason.split(".")[0])
            )
        self.wire_error = wire_error

    def for_wire(self, wire_error: str) -> PasserelleError:
        """The same failure, as a protocol layer reports it on the wire."""
        again = PasserelleError(self.reason, self.detail, fault=self.fault, wire_error=wire_error)
        again.__cause__ = self.__cause__ or self
        return again

    def as_dict(self) -> dict[str, str | None]:
        return {
            "reason": str(self.reason),
            "detail": self.detail,
            "fault": self.fault.value,
            "wire_error": self.wire_error,
        }


def local_error(reason: Reason, detail: str) -> PasserelleError:
    """A misuse of our own API (bad option, impossible request) rather than a peer fault."""
    return PasserelleError(reason, detail, fault=Fault.LOCAL)


@contextmanager
def reraised_as(
    make: Callable[[Reason, str], PasserelleError],
    reason: Reason,
    *,
    keep: Collection[Reason] = (),
    prefix: str = "",
) -> Iterator[None]:
    """How a protocol layer words what a layer below refused: a :class:`PasserelleError`
    raised in the block is raised again as ``make(reason, prefix + detail)``, keeping
    its own reason when that is one of ``keep``."""
    try:
        yield
    except PasserelleError as exc:
        raise make(exc.reason if exc.reason in keep else reason, prefix + exc.detail) from exc
