"""DCQL, OpenID4VP 1.0 §6 and §7: parsing, claims path processing, wallet matching
and the verifier's check. Every DCQL example of OpenID4VP 1.0 final (the files under
``examples/query_lang`` and ``examples/request`` of openid/OpenID4VP at tag
``1.0-final``, and the queries written inline in the spec text) is a vector here."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable

import pytest

from passerelle._errors import PasserelleError, Reason
from passerelle._json import JsonObject, JsonValue
from passerelle.dcql import (
    CandidateCredential,
    ClaimPath,
    DcqlQuery,
    PresentedCredential,
    check_dcql_response,
    match_dcql,
    parse_dcql_query,
    process_claims_path,
    process_mdoc_claims_path,
)

# --- Spec vectors (OpenID4VP 1.0 final) --------------------------------------------

SIMPLE = """{
  "credentials": [
    {
      "id": "my_credential",
      "format": "dc+sd-jwt",
      "meta": {
        "vct_values": [ "https://credentials.example.com/identity_credential" ]
      },
      "claims": [
          {"path": ["last_name"]},
          {"path": ["first_name"]},
          {"path": ["address", "street_address"]}
      ]
    }
  ]
}"""

SIMPLE_MDOC = """{
  "credentials": [
    {
      "id": "my_credential",
      "format": "mso_mdoc",
      "meta": {
        "doctype_value": "org.iso.7367.1.mVRC"
      },
      "claims": [
        {"path": ["org.iso.7367.1", "vehicle_holder"]},
        {"path": ["org.iso.18013.5.1", "first_name"]}
      ]
    }
  ]
}"""

MULTI_CREDENTIALS = """{
  "credentials": [
    {
      "id": "pid",
      "format": "dc+sd-jwt",
      "meta": {
        "vct_values": ["https://credentials.example.com/identity_credential"]
      },
      "claims": [
        {"path": ["given_name"]},
        {"path": ["family_name"]},
        {"path": ["address", "street_address"]}
      ]
    },
    {
      "id": "mdl",
      "format": "mso_mdoc",
      "meta": {
        "doctype_value": "org.iso.7367.1.mVRC"
      },
      "claims": [
        {"path": ["org.iso.7367.1", "vehicle_holder"]},
        {"path": ["org.iso.18013.5.1", "first_name"]}
      ]
    }
]
}"""

CREDENTIALS_ALTERNATIVES = """{
  "credentials": [
    {
      "id": "pid",
      "format": "dc+sd-jwt",
      "meta": {
        "vct_values": ["https://credentials.example.com/identity_credential"]
      },
      "claims": [
        {"path": ["given_name"]},
        {"path": ["family_name"]},
        {"path": ["address", "street_address"]}
      ]
    },
    {
      "id": "other_pid",
      "format": "dc+sd-jwt",
      "meta": {
        "vct_values": ["https://othercredentials.example/pid"]
      },
      "claims": [
        {"path": ["given_name"]},
        {"path": ["family_name"]},
        {"path": ["address", "street_address"]}
      ]
    },
    {
      "id": "pid_reduced_cred_1",
      "format": "dc+sd-jwt",
      "meta": {
        "vct_values": ["https://credentials.example.com/reduced_identity_credential"]
      },
      "claims": [
        {"path": ["family_name"]},
        {"path": ["given_name"]}
      ]
    },
    {
      "id": "pid_reduced_cred_2",
      "format": "dc+sd-jwt",
      "meta": {
        "vct_values": ["https://cred.example/residence_credential"]
      },
      "claims": [
        {"path": ["postal_code"]},
        {"path": ["locality"]},
        {"path": ["region"]}
      ]
    },
    {
      "id": "nice_to_have",
      "format": "dc+sd-jwt",
      "meta": {
        "vct_values": ["https://company.example/company_rewards"]
      },
      "claims": [
        {"path": ["rewards_number"]}
      ]
    }
  ],
  "credential_sets": [
    {
      "options": [
        [ "pid" ],
        [ "other_pid" ],
        [ "pid_reduced_cred_1", "pid_reduced_cred_2" ]
      ]
    },
    {
      "required": false,
      "options": [
        [ "nice_to_have" ]
      ]
    }
  ]
}"""

COMPLEX_MDOC = """{
  "credentials": [
    {
      "id": "mdl-id",
      "format": "mso_mdoc",
      "meta": {
        "doctype_value": "org.iso.18013.5.1.mDL"
      },
      "claims": [
        {
          "id": "given_name",
          "path": ["org.iso.18013.5.1", "given_name"]
        },
        {
          "id": "family_name",
          "path": ["org.iso.18013.5.1", "family_name"]
        },
        {
          "id": "portrait",
          "path": ["org.iso.18013.5.1", "portrait"]
        }
      ]
    },
    {
      "id": "mdl-address",
      "format": "mso_mdoc",
      "meta": {
        "doctype_value": "org.iso.18013.5.1.mDL"
      },
      "claims": [
        {
          "id": "resident_address",
          "path": ["org.iso.18013.5.1", "resident_address"]
        },
        {
          "id": "resident_country",
          "path": ["org.iso.18013.5.1", "resident_country"]
        }
      ]
    },
    {
      "id": "photo_card-id",
      "format": "mso_mdoc",
      "meta": {
        "doctype_value": "org.iso.23220.photoid.1"
      },
      "claims": [
        {
          "id": "given_name",
          "path": ["org.iso.18013.5.1", "given_name"]
        },
        {
          "id": "family_name",
          "path": ["org.iso.18013.5.1", "family_name"]
        },
        {
          "id": "portrait",
          "path": ["org.iso.18013.5.1", "portrait"]
        }
      ]
    },
    {
      "id": "photo_card-address",
      "format": "mso_mdoc",
      "meta": {
        "doctype_value": "org.iso.23220.photoid.1"
      },
      "claims": [
        {
          "id": "resident_address",
          "path": ["org.iso.18013.5.1", "resident_address"]
        },
        {
          "id": "resident_country",
          "path": ["org.iso.18013.5.1", "resident_country"]
        }
      ]
    }
  ],
  "credential_sets": [
    {
      "options": [
        [ "mdl-id" ],
        [ "photo_card-id" ]
      ]
    },
    {
      "required": false,
      "options": [
        [ "mdl-address" ],
        [ "photo_card-address" ]
      ]
    }
  ]
}"""

CLAIMS_ALTERNATIVES = """{
  "credentials": [
    {
      "id": "pid",
      "format": "dc+sd-jwt",
      "meta": {
        "vct_values": [ "https://credentials.example.com/identity_credential" ]
      },
      "claims": [
        {"id": "a", "path": ["last_name"]},
        {"id": "b", "path": ["postal_code"]},
        {"id": "c", "path": ["locality"]},
        {"id": "d", "path": ["region"]},
        {"id": "e", "path": ["date_of_birth"]}
      ],
      "claim_sets": [
        ["a", "c", "d", "e"],
        ["a", "b", "e"]
      ]
    }
  ]
}"""

VALUE_MATCHING_SIMPLE = """{
  "credentials": [
    {
      "id": "my_credential",
      "format": "dc+sd-jwt",
      "meta": {
        "vct_values": [ "https://credentials.example.com/identity_credential" ]
      },
      "claims": [
          {
            "path": ["last_name"],
            "values": ["Doe"]
          },
          {"path": ["first_name"]},
          {"path": ["address", "street_address"]},
          {
            "path": ["postal_code"],
            "values": ["90210", "90211"]
          }
      ]
    }
  ]
}"""

DCQL_JWT_VC = """{
  "credentials": [
    {
      "id": "example_jwt_vc",
      "format": "jwt_vc_json",
      "meta": {
        "type_values": [["IDCredential"]]
      },
      "claims": [
        {"path": ["credentialSubject", "family_name"]},
        {"path": ["credentialSubject", "given_name"]}
      ]
    }
  ]
}"""

DCQL_LDP_VC = """{
  "credentials": [
    {
      "id": "example_ldp_vc",
      "format": "ldp_vc",
      "meta": {
        "type_values": [["IDCredential"]]
      },
      "claims": [
        {"path": ["credentialSubject", "family_name"]},
        {"path": ["credentialSubject", "given_name"]},
        {"path": ["credentialSubject", "birthdate"]},
        {"path": ["credentialSubject", "address", "street_address"]},
        {"path": ["credentialSubject", "address", "locality"]},
        {"path": ["credentialSubject", "address", "postal_code"]},
        {"path": ["credentialSubject", "address", "country"]}
      ]
    }
  ]
}"""

# §5.1 (request object by value) and §8.3 (DC API encrypted response), written inline.
REQUEST_OBJECT_INLINE = """{
    "credentials": [
      {
        "id": "some_identity_credential",
        "format": "dc+sd-jwt",
        "meta": {
          "vct_values": [ "https://credentials.example.com/identity_credential" ]
        },
        "claims": [
            {"path": ["last_name"]},
            {"path": ["first_name"]}
        ]
      }
    ]
}"""

DC_API_INLINE = """{
  "credentials": [
   {
    "id": "my_credential",
    "format": "dc+sd-jwt",
    "meta": {
      "vct_values": ["https://credentials.example.com/identity_credential"]
    },
    "claims": [
      {"path": ["last_name"]},
      {"path": ["first_name"]},
      {"path": ["address", "postal_code"]}
     ]
    }
   ]
}"""

# §B.1.1 type_values example, and §6.1.1 trusted authority entries.
TYPE_VALUES: JsonValue = [
    [
        "https://www.w3.org/2018/credentials#VerifiableCredential",
        "https://example.org/examples#AlumniCredential",
        "https://example.org/examples#BachelorDegree",
    ],
    [
        "https://www.w3.org/2018/credentials#VerifiableCredential",
        "https://example.org/examples#UniversityDegreeCredential",
    ],
    ["IdentityCredential"],
]
AKI_ENTRY: JsonValue = {"type": "aki", "values": ["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]}
ETSI_TL_ENTRY: JsonValue = {"type": "etsi_tl", "values": ["https://lotl.example.com"]}
FEDERATION_ENTRY: JsonValue = {
    "type": "openid_federation",
    "values": ["https://trustanchor.example.com"],
}

# §7.4 claims path pointer example credential.
ARTHUR: JsonObject = json.loads("""{
  "name": "Arthur Dent",
  "address": {
    "street_address": "42 Market Street",
    "locality": "Milliways",
    "postal_code": "12345"
  },
  "degrees": [
    {
      "type": "Bachelor of Science",
      "university": "University of Betelgeuse"
    },
    {
      "type": "Master of Science",
      "university": "University of Betelgeuse"
    }
  ],
  "nationalities": ["British", "Betelgeusian"]
}""")

# examples/credentials/jwt_vc.json: the ``vc`` object is the root paths start from.
JWT_VC_PAYLOAD: JsonObject = json.loads("""{
  "iss": "https://example.gov/issuers/565049",
  "nbf": 1262304000,
  "jti": "http://example.gov/credentials/3732",
  "sub": "did:example:ebfeb1f712ebc6f1c276e12ec21",
  "vc": {
    "@context": [
      "https://www.w3.org/2018/credentials/v1",
      "https://www.w3.org/2018/credentials/examples/v1"
    ],
    "type": [
      "VerifiableCredential",
      "IDCredential"
    ],
    "credentialSubject": {
      "given_name": "Max",
      "family_name": "Mustermann",
      "birthdate": "1998-01-11",
      "address": {
        "street_address": "Sandanger 25",
        "locality": "Musterstadt",
        "postal_code": "123456",
        "country": "DE"
      }
    }
  }
}""")

IDENTITY_VCT = "https://credentials.example.com/identity_credential"
SPEC_QUERIES = {
    "simple": SIMPLE,
    "simple_mdoc": SIMPLE_MDOC,
    "multi_credentials": MULTI_CREDENTIALS,
    "credentials_alternatives": CREDENTIALS_ALTERNATIVES,
    "complex_mdoc": COMPLEX_MDOC,
    "claims_alternatives": CLAIMS_ALTERNATIVES,
    "value_matching_simple": VALUE_MATCHING_SIMPLE,
    "dcql_jwt_vc": DCQL_JWT_VC,
    "dcql_ldp_vc": DCQL_LDP_VC,
    "request_object_inline": REQUEST_OBJECT_INLINE,
    "dc_api_inline": DC_API_INLINE,
}


def _q(text: str) -> DcqlQuery:
    return parse_dcql_query(json.loads(text))


def _sd_jwt(
    credential_id: str, claims: JsonObject, *, vct: str = IDENTITY_VCT, **kw: object
) -> CandidateCredential:
    return CandidateCredential(
        credential_id=credential_id,
        format="dc+sd-jwt",
        vct=vct,
        claims=claims,
        **kw,  # type: ignore[arg-type]
    )


def _reason(exc: pytest.ExceptionInfo[PasserelleError]) -> Reason:
    return exc.value.reason


# --- Parsing ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SPEC_QUERIES))
def test_every_spec_example_parses(name: str) -> None:
    doc = json.loads(SPEC_QUERIES[name])
    query = parse_dcql_query(doc)
    assert query.credential_ids == tuple(c["id"] for c in doc["credentials"])
    for parsed, raw in zip(query.credentials, doc["credentials"], strict=True):
        assert parsed.format == raw["format"]
        assert parsed.meta == raw["meta"]
        assert parsed.multiple is False
        assert parsed.require_cryptographic_holder_binding is True
        assert [c.path for c in parsed.claims or ()] == [tuple(c["path"]) for c in raw["claims"]]


def test_spec_examples_carry_their_details() -> None:
    alternatives = _q(CREDENTIALS_ALTERNATIVES)
    assert alternatives.credential_sets is not None
    assert [s.required for s in alternatives.credential_sets] == [True, False]
    assert alternatives.credential_sets[0].options[2] == (
        "pid_reduced_cred_1",
        "pid_reduced_cred_2",
    )
    claims_alt = _q(CLAIMS_ALTERNATIVES).credentials[0]
    assert claims_alt.claim_sets == (("a", "c", "d", "e"), ("a", "b", "e"))
    assert claims_alt.vct_values == (IDENTITY_VCT,)
    values = _q(VALUE_MATCHING_SIMPLE).credentials[0].claims
    assert values is not None
    assert values[0].values == ("Doe",)
    assert values[3].values == ("90210", "90211")
    assert values[1].values is None
    assert _q(SIMPLE_MDOC).credentials[0].doctype_value == "org.iso.7367.1.mVRC"
    assert _q(DCQL_JWT_VC).credentials[0].type_values == (("IDCredential",),)


def test_spec_type_values_and_trusted_authorities_examples_parse() -> None:
    query = parse_dcql_query(
        {
            "credentials": [
                {
                    "id": "degree",
                    "format": "jwt_vc_json",
                    "meta": {"type_values": TYPE_VALUES},
                    "trusted_authorities": [AKI_ENTRY, ETSI_TL_ENTRY, FEDERATION_ENTRY],
                }
            ]
        }
    )
    credential = query.credentials[0]
    assert [list(t) for t in credential.type_values or ()] == TYPE_VALUES
    assert credential.trusted_authorities is not None
    assert [(t.type, t.values) for t in credential.trusted_authorities] == [
        ("aki", ("s9tIpPmhxdiuNkHMEWNpYim8S8Y",)),
        ("etsi_tl", ("https://lotl.example.com",)),
        ("openid_federation", ("https://trustanchor.example.com",)),
    ]
    assert credential.claims is None


def test_options_unknown_members_and_mdoc_intent_to_retain() -> None:
    query = parse_dcql_query(
        {
            "credentials": [
                {
                    "id": "mdl",
                    "format": "mso_mdoc",
                    "multiple": True,
                    "require_cryptographic_holder_binding": False,
                    "meta": {"doctype_value": "org.iso.18013.5.1.mDL"},
                    "claims": [
                        {"path": ["org.iso.18013.5.1", "portrait"], "intent_to_retain": True}
                    ],
                    "future_member": 1,
                },
                {
                    "id": "odd",
                    "format": "some_future_format",
                    "meta": {"anything": ["goes"]},
                    "claims": [{"path": ["x"], "intent_to_retain": "not for this format"}],
                },
            ],
            "future_top": {"a": 1},
        }
    )
    mdl, odd = query.credentials
    assert mdl.multiple is True
    assert mdl.require_cryptographic_holder_binding is False
    assert mdl.claims is not None
    assert mdl.claims[0].intent_to_retain is True
    assert mdl.extra == {"future_member": 1}
    assert odd.claims is not None
    assert odd.claims[0].intent_to_retain is None
    assert odd.claims[0].extra == {"intent_to_retain": "not for this format"}
    assert query.extra == {"future_top": {"a": 1}}


def _base() -> dict[str, JsonValue]:
    doc: dict[str, JsonValue] = json.loads(CLAIMS_ALTERNATIVES)
    doc["credential_sets"] = [{"options": [["pid"]]}]
    return doc


def _cred(doc: dict[str, JsonValue]) -> dict[str, JsonValue]:
    credentials = doc["credentials"]
    assert isinstance(credentials, list)
    first = credentials[0]
    assert isinstance(first, dict)
    return first


def _claim(doc: dict[str, JsonValue], i: int = 0) -> dict[str, JsonValue]:
    claims = _cred(doc)["claims"]
    assert isinstance(claims, list)
    claim = claims[i]
    assert isinstance(claim, dict)
    return claim


def _set(doc: dict[str, JsonValue]) -> dict[str, JsonValue]:
    sets = doc["credential_sets"]
    assert isinstance(sets, list)
    first = sets[0]
    assert isinstance(first, dict)
    return first


def _mdoc_intent(doc: dict[str, JsonValue], intent: JsonValue) -> None:
    credential = _cred(doc)
    del credential["claim_sets"]
    credential.update(
        format="mso_mdoc",
        meta={"doctype_value": "org.iso.18013.5.1.mDL"},
        claims=[{"path": ["ns", "x"], "intent_to_retain": intent}],
    )


Mutation = Callable[[dict[str, JsonValue]], object]

PARSE_ERRORS: dict[str, Mutation] = {
    "credentials missing": lambda d: d.pop("credentials"),
    "credentials empty": lambda d: d.update(credentials=[]),
    "credentials not array": lambda d: d.update(credentials={"id": "x"}),
    "credential not object": lambda d: d.update(credentials=["pid"]),
    "id missing": lambda d: _cred(d).pop("id"),
    "id empty": lambda d: _cred(d).update(id=""),
    "id bad characters": lambda d: _cred(d).update(id="my credential"),
    "id not string": lambda d: _cred(d).update(id=7),
    "id duplicate": lambda d: d.update(credentials=[_cred(d), copy.deepcopy(_cred(d))]),
    "format missing": lambda d: _cred(d).pop("format"),
    "format not string": lambda d: _cred(d).update(format=1),
    "multiple not bool": lambda d: _cred(d).update(multiple="true"),
    "meta missing": lambda d: _cred(d).pop("meta"),
    "meta not object": lambda d: _cred(d).update(meta=[]),
    "vct_values missing": lambda d: _cred(d).update(meta={}),
    "vct_values empty": lambda d: _cred(d).update(meta={"vct_values": []}),
    "vct_values not strings": lambda d: _cred(d).update(meta={"vct_values": [1]}),
    "type_values missing": lambda d: _cred(d).update(format="jwt_vc_json", meta={}),
    "type_values flat": lambda d: _cred(d).update(
        format="jwt_vc_json", meta={"type_values": ["IDCredential"]}
    ),
    "type_values inner empty": lambda d: _cred(d).update(
        format="jwt_vc_json", meta={"type_values": [[]]}
    ),
    "doctype_value missing": lambda d: _cred(d).update(format="mso_mdoc", meta={}),
    "doctype_value not string": lambda d: _cred(d).update(
        format="mso_mdoc", meta={"doctype_value": ["org.iso.18013.5.1.mDL"]}
    ),
    "trusted_authorities empty": lambda d: _cred(d).update(trusted_authorities=[]),
    "trusted_authorities type missing": lambda d: _cred(d).update(
        trusted_authorities=[{"values": ["x"]}]
    ),
    "trusted_authorities values missing": lambda d: _cred(d).update(
        trusted_authorities=[{"type": "etsi_tl"}]
    ),
    "trusted_authorities values empty": lambda d: _cred(d).update(
        trusted_authorities=[{"type": "etsi_tl", "values": []}]
    ),
    "trusted_authorities value not string": lambda d: _cred(d).update(
        trusted_authorities=[{"type": "etsi_tl", "values": [3]}]
    ),
    "aki not base64url": lambda d: _cred(d).update(
        trusted_authorities=[{"type": "aki", "values": ["s9tI+PmhxdiuNkHMEWNpYim8S8Y="]}]
    ),
    "holder binding not bool": lambda d: _cred(d).update(
        require_cryptographic_holder_binding="false"
    ),
    "claims empty": lambda d: _cred(d).update(claims=[]),
    "claim not object": lambda d: _cred(d).update(claims=[["last_name"]]),
    "claim path missing": lambda d: _claim(d).pop("path"),
    "claim path empty": lambda d: _claim(d).update(path=[]),
    "claim path not array": lambda d: _claim(d).update(path="last_name"),
    "claim path negative index": lambda d: _claim(d).update(path=["degrees", -1]),
    "claim path boolean": lambda d: _claim(d).update(path=["degrees", True]),
    "claim path float": lambda d: _claim(d).update(path=["degrees", 1.0]),
    "claim path object": lambda d: _claim(d).update(path=[{"a": 1}]),
    "claim id bad characters": lambda d: _claim(d).update(id="a.b"),
    "claim id duplicate": lambda d: _claim(d, 1).update(id="a"),
    "claim values empty": lambda d: _claim(d).update(values=[]),
    "claim values float": lambda d: _claim(d).update(values=[1.5]),
    "claim values null": lambda d: _claim(d).update(values=[None]),
    "claim values object": lambda d: _claim(d).update(values=[{"a": 1}]),
    "mdoc intent_to_retain not bool": lambda d: _mdoc_intent(d, "yes"),
    "claim_sets without claims": lambda d: _cred(d).pop("claims"),
    "claim_sets claim without id": lambda d: _claim(d, 4).pop("id"),
    "claim_sets empty": lambda d: _cred(d).update(claim_sets=[]),
    "claim_sets not nested": lambda d: _cred(d).update(claim_sets=["a", "b"]),
    "claim_sets unknown id": lambda d: _cred(d).update(claim_sets=[["a", "z"]]),
    "credential_sets empty": lambda d: d.update(credential_sets=[]),
    "credential_set not object": lambda d: d.update(credential_sets=[["pid"]]),
    "credential_set options missing": lambda d: _set(d).pop("options"),
    "credential_set options empty": lambda d: _set(d).update(options=[]),
    "credential_set option empty": lambda d: _set(d).update(options=[[]]),
    "credential_set option not array": lambda d: _set(d).update(options=["pid"]),
    "credential_set unknown id": lambda d: _set(d).update(options=[["pid", "nope"]]),
    "credential_set required not bool": lambda d: _set(d).update(required="no"),
}


@pytest.mark.parametrize("name", sorted(PARSE_ERRORS))
def test_parse_error(name: str) -> None:
    doc = _base()
    parse_dcql_query(copy.deepcopy(doc))  # the base itself is valid
    PARSE_ERRORS[name](doc)
    with pytest.raises(PasserelleError) as exc:
        parse_dcql_query(doc)
    assert _reason(exc) is Reason.DCQL_INVALID_QUERY
    assert exc.value.wire_error == "invalid_request"


@pytest.mark.parametrize("doc", [None, [], "{}", 3])
def test_parse_refuses_a_non_object(doc: JsonValue) -> None:
    with pytest.raises(PasserelleError) as exc:
        parse_dcql_query(doc)
    assert _reason(exc) is Reason.DCQL_INVALID_QUERY


def test_parse_canonicalises_aki_values() -> None:
    # "s9tIpPmhxdiuNkHMEWNpYim8S8Z" differs only in trailing bits: the same 20 bytes.
    doc = json.loads(SIMPLE)
    doc["credentials"][0]["trusted_authorities"] = [
        {"type": "aki", "values": ["s9tIpPmhxdiuNkHMEWNpYim8S8Z"]}
    ]
    authorities = parse_dcql_query(doc).credentials[0].trusted_authorities
    assert authorities is not None
    assert authorities[0].values == ("s9tIpPmhxdiuNkHMEWNpYim8S8Y",)


# --- Claims path pointer (§7) -------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("name",), ("Arthur Dent",)),
        (("address",), (ARTHUR["address"],)),
        (("address", "street_address"), ("42 Market Street",)),
        (("degrees", None, "type"), ("Bachelor of Science", "Master of Science")),
        (("nationalities", 1), ("Betelgeusian",)),
        (("nationalities", None), ("British", "Betelgeusian")),
        (("degrees", 0, "university"), ("University of Betelgeuse",)),
    ],
)
def test_claims_path_spec_example(path: ClaimPath, expected: tuple[JsonValue, ...]) -> None:
    assert process_claims_path(ARTHUR, path) == expected


@pytest.mark.parametrize(
    "path",
    [
        ("missing",),  # nothing selected
        ("name", "first"),  # key on a string
        ("address", None),  # null on an object
        ("address", 0),  # index on an object
        ("nationalities", 2),  # index out of range: nothing left
        ("degrees", None, "grade"),  # key absent from every element
        ("degrees", "type"),  # key on an array
    ],
)
def test_claims_path_errors(path: ClaimPath) -> None:
    with pytest.raises(PasserelleError) as exc:
        process_claims_path(ARTHUR, path)
    assert _reason(exc) is Reason.DCQL_CLAIM_MISSING


def test_claims_path_keeps_elements_that_have_the_key() -> None:
    doc: JsonObject = {"items": [{"a": 1}, {"b": 2}, {"a": 3}]}
    assert process_claims_path(doc, ("items", None, "a")) == (1, 3)


MDOC: JsonObject = {
    "org.iso.18013.5.1": {"given_name": "Erika", "family_name": "Mustermann", "portrait": "AA"},
    "org.iso.7367.1": {"vehicle_holder": "Erika Mustermann"},
}


def test_mdoc_claims_path() -> None:
    assert process_mdoc_claims_path(MDOC, ("org.iso.7367.1", "vehicle_holder")) == (
        "Erika Mustermann"
    )


@pytest.mark.parametrize(
    "path",
    [
        ("org.iso.18013.5.1",),
        ("org.iso.18013.5.1", "given_name", "x"),
        ("org.iso.18013.5.1", 0),
        ("org.iso.18013.5.2", "given_name"),
        ("org.iso.18013.5.1", "birth_date"),
    ],
)
def test_mdoc_claims_path_errors(path: ClaimPath) -> None:
    with pytest.raises(PasserelleError) as exc:
        process_mdoc_claims_path(MDOC, path)
    assert _reason(exc) is Reason.DCQL_CLAIM_MISSING


# --- Wallet matching ----------------------------------------------------------------

PERSON: JsonObject = {
    "vct": IDENTITY_VCT,
    "iss": "https://issuer.example",
    "last_name": "Doe",
    "first_name": "John",
    "date_of_birth": "1940-01-01",
    "postal_code": "90210",
    "address": {"street_address": "123 Main St", "postal_code": "90210"},
    "nationalities": ["British", "Betelgeusian"],
}


def test_simple_sd_jwt_match_discloses_exactly_the_requested_paths() -> None:
    query = _q(SIMPLE)
    other = _sd_jwt("other-type", PERSON, vct="https://example.com/other")
    first = _sd_jwt("pid-1", PERSON)
    second = _sd_jwt("pid-2", PERSON)
    result = match_dcql(query, [other, first, second])
    assert list(result.credentials) == ["my_credential"]
    (chosen,) = result.credentials["my_credential"]
    assert chosen.credential_id == "pid-1"  # candidate order breaks the tie
    assert chosen.disclose == (("last_name",), ("first_name",), ("address", "street_address"))
    assert result.chosen_options == ()


def test_missing_nested_claim_means_no_match() -> None:
    claims = {k: v for k, v in PERSON.items() if k != "address"}
    claims["address"] = {"postal_code": "90210"}
    with pytest.raises(PasserelleError) as exc:
        match_dcql(_q(SIMPLE), [_sd_jwt("pid", claims)])
    assert _reason(exc) is Reason.DCQL_NO_MATCH
    assert exc.value.wire_error == "access_denied"


def test_no_claims_requested_discloses_nothing() -> None:
    doc = json.loads(SIMPLE)
    del doc["credentials"][0]["claims"]
    result = match_dcql(parse_dcql_query(doc), [_sd_jwt("pid", PERSON)])
    assert result.credentials["my_credential"][0].disclose == ()


def test_holder_binding_required_by_default() -> None:
    unbound = _sd_jwt("no-cnf", PERSON, supports_holder_binding=False)
    bound = _sd_jwt("with-cnf", PERSON)
    query = _q(SIMPLE)
    assert match_dcql(query, [unbound, bound]).credentials["my_credential"][0].credential_id == (
        "with-cnf"
    )
    with pytest.raises(PasserelleError) as exc:
        match_dcql(query, [unbound])
    assert _reason(exc) is Reason.DCQL_NO_MATCH
    doc = json.loads(SIMPLE)
    doc["credentials"][0]["require_cryptographic_holder_binding"] = False
    relaxed = match_dcql(parse_dcql_query(doc), [unbound])
    assert relaxed.credentials["my_credential"][0].credential_id == "no-cnf"


@pytest.mark.parametrize(
    ("types", "matches"),
    [
        # §B.1.1 examples that match, with the types expanded as JSON-LD would.
        (
            {
                "https://www.w3.org/2018/credentials#VerifiableCredential",
                "https://example.org/examples#UniversityDegreeCredential",
            },
            True,
        ),
        (
            {
                "https://www.w3.org/2018/credentials#VerifiableCredential",
                "https://example.org/examples#BachelorDegree",
                "https://example.org/examples#AlumniCredential",
            },
            True,
        ),
        ({"https://www.w3.org/2018/credentials#VerifiableCredential", "IdentityCredential"}, True),
        (
            {
                "https://www.w3.org/2018/credentials#VerifiableCredential",
                "https://example.org/examples#AlumniCredential",
            },
            False,
        ),
        ({"UniversityDegreeCredential"}, False),
    ],
)
def test_w3c_type_values(types: set[str], matches: bool) -> None:
    query = parse_dcql_query(
        {
            "credentials": [
                {"id": "w3c", "format": "jwt_vc_json", "meta": {"type_values": TYPE_VALUES}}
            ]
        }
    )
    candidate = CandidateCredential(
        credential_id="vc", format="jwt_vc_json", types=frozenset(types), claims={}
    )
    if matches:
        assert match_dcql(query, [candidate]).credentials["w3c"][0].credential_id == "vc"
    else:
        with pytest.raises(PasserelleError) as exc:
            match_dcql(query, [candidate])
        assert _reason(exc) is Reason.DCQL_NO_MATCH


def test_spec_jwt_vc_request_against_spec_jwt_vc_credential() -> None:
    vc = JWT_VC_PAYLOAD["vc"]
    assert isinstance(vc, dict)
    types = vc["type"]
    assert isinstance(types, list)
    candidate = CandidateCredential(
        credential_id="id-card",
        format="jwt_vc_json",
        types=frozenset(str(t) for t in types),
        claims=vc,
    )
    ldp = CandidateCredential(
        credential_id="ldp", format="ldp_vc", types=frozenset({"IDCredential"}), claims=vc
    )
    result = match_dcql(_q(DCQL_JWT_VC), [ldp, candidate])
    (chosen,) = result.credentials["example_jwt_vc"]
    assert chosen.credential_id == "id-card"
    assert chosen.disclose == (
        ("credentialSubject", "family_name"),
        ("credentialSubject", "given_name"),
    )
    ldp_result = match_dcql(_q(DCQL_LDP_VC), [candidate, ldp])
    assert ldp_result.credentials["example_ldp_vc"][0].credential_id == "ldp"


def test_claim_sets_first_satisfiable_in_preference_order() -> None:
    query = _q(CLAIMS_ALTERNATIVES)
    full = dict(PERSON, locality="Springfield", region="IL")
    result = match_dcql(query, [_sd_jwt("full", full)])
    assert result.credentials["pid"][0].disclose == (
        ("last_name",),
        ("locality",),
        ("region",),
        ("date_of_birth",),
    )
    # No region: the first set fails, the second (postal_code) is chosen.
    partial = dict(PERSON, locality="Springfield")
    result = match_dcql(query, [_sd_jwt("partial", partial)])
    assert result.credentials["pid"][0].disclose == (
        ("last_name",),
        ("postal_code",),
        ("date_of_birth",),
    )
    bare = {k: v for k, v in PERSON.items() if k != "postal_code"}
    with pytest.raises(PasserelleError) as exc:
        match_dcql(query, [_sd_jwt("bare", bare)])
    assert _reason(exc) is Reason.DCQL_NO_MATCH


def _alt_wallet(*, rewards: bool) -> list[CandidateCredential]:
    wallet = [
        _sd_jwt(
            "reduced-1",
            {"given_name": "A", "family_name": "B", "birthdate": "2000-01-01"},
            vct="https://credentials.example.com/reduced_identity_credential",
        ),
        _sd_jwt(
            "residence",
            {"postal_code": "1000", "locality": "Bruxelles", "region": "BXL", "street": "x"},
            vct="https://cred.example/residence_credential",
        ),
    ]
    if rewards:
        wallet.append(
            _sd_jwt(
                "rewards",
                {"rewards_number": 42},
                vct="https://company.example/company_rewards",
            )
        )
    return wallet


def test_credential_sets_option_order_and_optional_set() -> None:
    query = _q(CREDENTIALS_ALTERNATIVES)
    result = match_dcql(query, _alt_wallet(rewards=True))
    assert result.chosen_options == (
        ("pid_reduced_cred_1", "pid_reduced_cred_2"),
        ("nice_to_have",),
    )
    assert list(result.credentials) == ["pid_reduced_cred_1", "pid_reduced_cred_2", "nice_to_have"]
    assert result.credentials["pid_reduced_cred_2"][0].disclose == (
        ("postal_code",),
        ("locality",),
        ("region",),
    )
    assert result.credentials["nice_to_have"][0].disclose == (("rewards_number",),)

    without = match_dcql(query, _alt_wallet(rewards=False))
    assert without.chosen_options == (("pid_reduced_cred_1", "pid_reduced_cred_2"), None)
    assert "nice_to_have" not in without.credentials


def test_credential_sets_prefer_the_first_option() -> None:
    query = _q(CREDENTIALS_ALTERNATIVES)
    address: JsonObject = {"street_address": "1 Rue"}
    pid = _sd_jwt("pid", {"given_name": "A", "family_name": "B", "address": address})
    other = _sd_jwt(
        "other",
        {"given_name": "A", "family_name": "B", "address": address},
        vct="https://othercredentials.example/pid",
    )
    wallet = [other, *_alt_wallet(rewards=False), pid]
    result = match_dcql(query, wallet)
    assert result.chosen_options == (("pid",), None)
    assert list(result.credentials) == ["pid"]  # nothing beyond the chosen option


def test_required_credential_set_unsatisfiable() -> None:
    query = _q(CREDENTIALS_ALTERNATIVES)
    rewards_only = _alt_wallet(rewards=True)[2:]
    with pytest.raises(PasserelleError) as exc:
        match_dcql(query, rewards_only)
    assert _reason(exc) is Reason.DCQL_NO_MATCH


def test_without_credential_sets_every_query_is_required() -> None:
    query = _q(MULTI_CREDENTIALS)
    pid = _sd_jwt(
        "pid", {"given_name": "A", "family_name": "B", "address": {"street_address": "x"}}
    )
    with pytest.raises(PasserelleError) as exc:
        match_dcql(query, [pid])
    assert _reason(exc) is Reason.DCQL_NO_MATCH
    mvrc = CandidateCredential(
        credential_id="mvrc",
        format="mso_mdoc",
        doctype="org.iso.7367.1.mVRC",
        claims={
            "org.iso.7367.1": {"vehicle_holder": "A B", "registration_number": "X1"},
            "org.iso.18013.5.1": {"first_name": "A"},
        },
    )
    result = match_dcql(query, [mvrc, pid])
    assert result.credentials["pid"][0].credential_id == "pid"
    assert result.credentials["mdl"][0].disclose == (
        ("org.iso.7367.1", "vehicle_holder"),
        ("org.iso.18013.5.1", "first_name"),
    )


def test_complex_mdoc_sets() -> None:
    photo_id = CandidateCredential(
        credential_id="photo",
        format="mso_mdoc",
        doctype="org.iso.23220.photoid.1",
        claims={
            "org.iso.18013.5.1": {
                "given_name": "E",
                "family_name": "M",
                "portrait": "AA",
                "resident_address": "1 Rue",
                "resident_country": "FR",
            }
        },
    )
    mdl_without_address = CandidateCredential(
        credential_id="mdl",
        format="mso_mdoc",
        doctype="org.iso.18013.5.1.mDL",
        claims=MDOC,
    )
    result = match_dcql(_q(COMPLEX_MDOC), [photo_id, mdl_without_address])
    assert result.chosen_options == (("mdl-id",), ("photo_card-address",))
    assert result.credentials["mdl-id"][0].credential_id == "mdl"
    assert result.credentials["photo_card-address"][0].credential_id == "photo"
    assert "photo_card-id" not in result.credentials


def test_multiple_true_returns_all_matches_and_false_only_the_first() -> None:
    doc = json.loads(SIMPLE)
    wallet = [_sd_jwt(f"pid-{i}", PERSON) for i in range(3)]
    single = match_dcql(parse_dcql_query(doc), wallet)
    assert [m.credential_id for m in single.credentials["my_credential"]] == ["pid-0"]
    doc["credentials"][0]["multiple"] = True
    several = match_dcql(parse_dcql_query(doc), wallet)
    assert [m.credential_id for m in several.credentials["my_credential"]] == [
        "pid-0",
        "pid-1",
        "pid-2",
    ]


def test_values_filter() -> None:
    query = _q(VALUE_MATCHING_SIMPLE)
    doe = _sd_jwt("doe", PERSON)
    result = match_dcql(query, [_sd_jwt("roe", dict(PERSON, last_name="Roe")), doe])
    assert result.credentials["my_credential"][0].credential_id == "doe"
    assert result.credentials["my_credential"][0].disclose == (
        ("last_name",),
        ("first_name",),
        ("address", "street_address"),
        ("postal_code",),
    )
    with pytest.raises(PasserelleError) as exc:
        match_dcql(query, [_sd_jwt("elsewhere", dict(PERSON, postal_code="90212"))])
    assert _reason(exc) is Reason.DCQL_NO_MATCH


@pytest.mark.parametrize(
    ("held", "wanted", "matches"),
    [
        (True, True, True),
        (1, 1, True),
        (True, 1, False),  # type and value must both match (§6.3)
        (1, True, False),
        ("1", 1, False),
        (["British", "Betelgeusian"], "x", False),
    ],
)
def test_values_match_type_exactly(held: JsonValue, wanted: JsonValue, matches: bool) -> None:
    query = parse_dcql_query(
        {
            "credentials": [
                {
                    "id": "q",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [IDENTITY_VCT]},
                    "claims": [{"path": ["age_over_18"], "values": [wanted]}],
                }
            ]
        }
    )
    candidate = _sd_jwt("c", {"age_over_18": held})
    if matches:
        assert match_dcql(query, [candidate]).credentials["q"][0].disclose == (("age_over_18",),)
    else:
        with pytest.raises(PasserelleError):
            match_dcql(query, [candidate])


def test_values_on_a_null_path_match_any_element() -> None:
    query = parse_dcql_query(
        {
            "credentials": [
                {
                    "id": "q",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [IDENTITY_VCT]},
                    "claims": [{"path": ["nationalities", None], "values": ["Betelgeusian"]}],
                }
            ]
        }
    )
    result = match_dcql(query, [_sd_jwt("c", PERSON)])
    assert result.credentials["q"][0].disclose == (("nationalities", None),)


def _with_authorities(entries: list[JsonValue]) -> DcqlQuery:
    doc = json.loads(SIMPLE)
    doc["credentials"][0]["trusted_authorities"] = entries
    return parse_dcql_query(doc)


@pytest.mark.parametrize(
    ("entries", "keys", "tags", "expected"),
    [
        ([AKI_ENTRY], {"s9tIpPmhxdiuNkHMEWNpYim8S8Y"}, set(), "trusted"),
        ([AKI_ENTRY], {"AAAA"}, set(), None),
        (
            [{"type": "passerelle_lote", "values": ["https://lists.example.eu/pid.json"]}],
            set(),
            {"https://lists.example.eu/pid.json"},
            "trusted",
        ),
        (
            [{"type": "passerelle_trqp", "values": ["did:web:registry.gov.bc.ca"]}],
            set(),
            {"did:web:registry.gov.bc.ca"},
            "trusted",
        ),
        (
            [{"type": "passerelle_trqp", "values": ["did:web:registry.gov.bc.ca"]}],
            set(),
            {"https://lists.example.eu/pid.json"},
            None,
        ),
        # Any value of any entry is enough.
        ([ETSI_TL_ENTRY, AKI_ENTRY], {"s9tIpPmhxdiuNkHMEWNpYim8S8Y"}, set(), "trusted"),
        ([ETSI_TL_ENTRY], set(), {"https://lotl.example.com"}, "trusted"),
        # An AKI value found among trust tags is not an AKI match, and vice versa.
        ([AKI_ENTRY], set(), {"s9tIpPmhxdiuNkHMEWNpYim8S8Y"}, None),
        # Unknown types never match.
        ([{"type": "x_future", "values": ["anything"]}], {"anything"}, {"anything"}, None),
    ],
)
def test_trusted_authorities(
    entries: list[JsonValue], keys: set[str], tags: set[str], expected: str | None
) -> None:
    query = _with_authorities(entries)
    untrusted = _sd_jwt("untrusted", PERSON)
    candidate = _sd_jwt(
        "trusted", PERSON, authority_keys=frozenset(keys), trust_tags=frozenset(tags)
    )
    if expected is None:
        with pytest.raises(PasserelleError) as exc:
            match_dcql(query, [untrusted, candidate])
        assert _reason(exc) is Reason.DCQL_NO_MATCH
    else:
        chosen = match_dcql(query, [untrusted, candidate]).credentials["my_credential"][0]
        assert chosen.credential_id == expected


def test_unknown_format_parses_but_never_matches() -> None:
    query = parse_dcql_query(
        {
            "credentials": [
                {"id": "q", "format": "vc+sd-jwt", "meta": {"vct_values": [IDENTITY_VCT]}}
            ]
        }
    )
    with pytest.raises(PasserelleError) as exc:
        match_dcql(
            query,
            [
                CandidateCredential(
                    credential_id="c", format="vc+sd-jwt", vct=IDENTITY_VCT, claims={}
                )
            ],
        )
    assert _reason(exc) is Reason.DCQL_NO_MATCH


def test_wrong_format_with_right_type_does_not_match() -> None:
    w3c = CandidateCredential(
        credential_id="w", format="jwt_vc_json", vct=IDENTITY_VCT, claims=PERSON
    )
    with pytest.raises(PasserelleError) as exc:
        match_dcql(_q(SIMPLE), [w3c])
    assert _reason(exc) is Reason.DCQL_NO_MATCH


def test_duplicate_claim_queries_are_disclosed_once() -> None:
    doc = json.loads(SIMPLE)
    doc["credentials"][0]["claims"].append({"path": ["last_name"]})
    result = match_dcql(parse_dcql_query(doc), [_sd_jwt("pid", PERSON)])
    assert result.credentials["my_credential"][0].disclose == (
        ("last_name",),
        ("first_name",),
        ("address", "street_address"),
    )


# --- Verifier check -----------------------------------------------------------------


def _presented(claims: JsonObject, **kw: object) -> PresentedCredential:
    fields: dict[str, object] = {
        "format": "dc+sd-jwt",
        "vct": IDENTITY_VCT,
        "holder_bound": True,
        "claims": claims,
    }
    fields.update(kw)
    return PresentedCredential(**fields)  # type: ignore[arg-type]


MINIMAL: JsonObject = {
    "iss": "https://issuer.example",
    "vct": IDENTITY_VCT,
    "iat": 1700000000,
    "cnf": {"jwk": {"kty": "EC"}},
    "last_name": "Doe",
    "first_name": "John",
    "address": {"street_address": "123 Main St"},
}


def test_check_accepts_the_minimal_answer() -> None:
    check = check_dcql_response(_q(SIMPLE), {"my_credential": [_presented(MINIMAL)]})
    assert check.over_disclosed == {}
    assert check.satisfied_sets == ()


def test_check_reports_over_disclosure() -> None:
    claims = dict(MINIMAL, birthdate="1940-01-01")
    claims["address"] = {"street_address": "123 Main St", "locality": "Anytown"}
    check = check_dcql_response(_q(SIMPLE), {"my_credential": [_presented(claims)]})
    # In the credential's own order: address was disclosed before birthdate.
    assert check.over_disclosed == {"my_credential": (("address", "locality"), ("birthdate",))}


def test_check_over_disclosure_from_disclosure_paths() -> None:
    degrees: JsonValue = [{"type": "BSc"}]
    claims = dict(MINIMAL, sub="user-1", birthdate="1940-01-01", degrees=degrees)
    disclosed: tuple[ClaimPath, ...] = (
        ("address",),  # on the way to address.street_address: needed, not extra
        ("address", "street_address"),
        ("last_name",),
        ("first_name",),
        ("birthdate",),
        ("degrees", 0),
    )
    presented = _presented(claims, disclosed_paths=disclosed)
    check = check_dcql_response(_q(SIMPLE), {"my_credential": [presented]})
    # sub was in the clear (not a disclosure), so the wallet could not withhold it.
    assert check.over_disclosed == {"my_credential": (("birthdate",), ("degrees", 0))}


def test_check_null_path_covers_every_element() -> None:
    doc = json.loads(SIMPLE)
    doc["credentials"][0]["claims"] = [{"path": ["degrees", None, "type"]}]
    claims: JsonObject = {"vct": IDENTITY_VCT, "degrees": [{"type": "BSc"}, {"type": "MSc"}]}
    disclosed: tuple[ClaimPath, ...] = (("degrees", 0), ("degrees", 1), ("degrees", 1, "type"))
    presented = _presented(claims, disclosed_paths=disclosed)
    check = check_dcql_response(parse_dcql_query(doc), {"my_credential": [presented]})
    assert check.over_disclosed == {}
    extra = _presented(dict(claims, grade="A"), disclosed_paths=(*disclosed, ("grade",)))
    check = check_dcql_response(parse_dcql_query(doc), {"my_credential": [extra]})
    assert check.over_disclosed == {"my_credential": (("grade",),)}


def test_check_over_disclosure_against_the_satisfied_claim_set() -> None:
    claims: JsonObject = {
        "vct": IDENTITY_VCT,
        "last_name": "Doe",
        "postal_code": "90210",
        "date_of_birth": "1940-01-01",
        "locality": "Anytown",
    }
    check = check_dcql_response(_q(CLAIMS_ALTERNATIVES), {"pid": [_presented(claims)]})
    # The first set needs region too, so the second set is the one answered.
    assert check.over_disclosed == {"pid": (("locality",),)}


def test_check_w3c_and_mdoc_are_not_over_disclosing() -> None:
    vc = JWT_VC_PAYLOAD["vc"]
    assert isinstance(vc, dict)
    presented = PresentedCredential(
        format="jwt_vc_json",
        types=frozenset({"VerifiableCredential", "IDCredential"}),
        holder_bound=True,
        claims=vc,
    )
    assert (
        check_dcql_response(_q(DCQL_JWT_VC), {"example_jwt_vc": [presented]}).over_disclosed == {}
    )
    mdoc = PresentedCredential(
        format="mso_mdoc",
        doctype="org.iso.7367.1.mVRC",
        holder_bound=True,
        claims={
            "org.iso.7367.1": {"vehicle_holder": "A", "registration_number": "X"},
            "org.iso.18013.5.1": {"first_name": "A"},
        },
    )
    check = check_dcql_response(_q(SIMPLE_MDOC), {"my_credential": [mdoc]})
    assert check.over_disclosed == {"my_credential": (("org.iso.7367.1", "registration_number"),)}


def test_check_credential_sets() -> None:
    query = _q(CREDENTIALS_ALTERNATIVES)
    answer = {
        "pid_reduced_cred_1": [
            _presented(
                {"given_name": "A", "family_name": "B"},
                vct="https://credentials.example.com/reduced_identity_credential",
            )
        ],
        "pid_reduced_cred_2": [
            _presented(
                {"postal_code": "1", "locality": "L", "region": "R"},
                vct="https://cred.example/residence_credential",
            )
        ],
    }
    check = check_dcql_response(query, answer)
    assert check.satisfied_sets == (("pid_reduced_cred_1", "pid_reduced_cred_2"), None)
    rewards = _presented({"rewards_number": 1}, vct="https://company.example/company_rewards")
    check = check_dcql_response(query, dict(answer, nice_to_have=[rewards]))
    assert check.satisfied_sets == (("pid_reduced_cred_1", "pid_reduced_cred_2"), ("nice_to_have",))
    with pytest.raises(PasserelleError) as exc:
        check_dcql_response(query, {"pid_reduced_cred_1": answer["pid_reduced_cred_1"]})
    assert _reason(exc) is Reason.DCQL_REQUIRED_QUERY_UNANSWERED
    with pytest.raises(PasserelleError) as exc:
        check_dcql_response(query, {"nice_to_have": [rewards]})
    assert _reason(exc) is Reason.DCQL_REQUIRED_QUERY_UNANSWERED


def test_check_multiple() -> None:
    doc = json.loads(SIMPLE)
    doc["credentials"][0]["multiple"] = True
    two = {"my_credential": [_presented(MINIMAL), _presented(MINIMAL)]}
    check_dcql_response(parse_dcql_query(doc), two)
    with pytest.raises(PasserelleError) as exc:
        check_dcql_response(_q(SIMPLE), two)
    assert _reason(exc) is Reason.DCQL_TOO_MANY_PRESENTATIONS


def test_check_holder_binding_not_required() -> None:
    doc = json.loads(SIMPLE)
    doc["credentials"][0]["require_cryptographic_holder_binding"] = False
    check_dcql_response(
        parse_dcql_query(doc), {"my_credential": [_presented(MINIMAL, holder_bound=False)]}
    )


def test_check_trusted_authorities_positive() -> None:
    query = _with_authorities([AKI_ENTRY])
    presented = _presented(MINIMAL, issuer_aki=frozenset({"s9tIpPmhxdiuNkHMEWNpYim8S8Y"}))
    check_dcql_response(query, {"my_credential": [presented]})


def _drop(claims: JsonObject, key: str) -> JsonObject:
    return {k: v for k, v in claims.items() if k != key}


VERIFIER_NEGATIVES: dict[str, tuple[str, dict[str, list[PresentedCredential]], Reason]] = {
    "unknown query id": (
        SIMPLE,
        {"my_credential": [_presented(MINIMAL)], "extra": [_presented(MINIMAL)]},
        Reason.DCQL_UNEXPECTED_QUERY_ID,
    ),
    "empty presentation array": (SIMPLE, {"my_credential": []}, Reason.DCQL_RESPONSE_MISMATCH),
    "nothing answered": (SIMPLE, {}, Reason.DCQL_REQUIRED_QUERY_UNANSWERED),
    "one of two required unanswered": (
        MULTI_CREDENTIALS,
        {
            "pid": [
                _presented(
                    {"given_name": "A", "family_name": "B", "address": {"street_address": "x"}}
                )
            ]
        },
        Reason.DCQL_REQUIRED_QUERY_UNANSWERED,
    ),
    "wrong format": (
        SIMPLE,
        {"my_credential": [_presented(MINIMAL, format="jwt_vc_json")]},
        Reason.DCQL_RESPONSE_MISMATCH,
    ),
    "wrong vct": (
        SIMPLE,
        {"my_credential": [_presented(MINIMAL, vct="https://example.com/other")]},
        Reason.DCQL_RESPONSE_MISMATCH,
    ),
    "wrong W3C type": (
        DCQL_JWT_VC,
        {
            "example_jwt_vc": [
                PresentedCredential(
                    format="jwt_vc_json",
                    types=frozenset({"VerifiableCredential"}),
                    holder_bound=True,
                    claims={"credentialSubject": {"family_name": "M", "given_name": "E"}},
                )
            ]
        },
        Reason.DCQL_RESPONSE_MISMATCH,
    ),
    "wrong doctype": (
        SIMPLE_MDOC,
        {
            "my_credential": [
                PresentedCredential(
                    format="mso_mdoc",
                    doctype="org.iso.18013.5.1.mDL",
                    holder_bound=True,
                    claims={
                        "org.iso.7367.1": {"vehicle_holder": "A"},
                        "org.iso.18013.5.1": {"first_name": "A"},
                    },
                )
            ]
        },
        Reason.DCQL_RESPONSE_MISMATCH,
    ),
    "no holder binding": (
        SIMPLE,
        {"my_credential": [_presented(MINIMAL, holder_bound=False)]},
        Reason.DCQL_HOLDER_BINDING_MISSING,
    ),
    "claim missing": (
        SIMPLE,
        {"my_credential": [_presented(_drop(MINIMAL, "first_name"))]},
        Reason.DCQL_CLAIM_MISSING,
    ),
    "nested claim missing": (
        SIMPLE,
        {"my_credential": [_presented(dict(MINIMAL, address={"locality": "x"}))]},
        Reason.DCQL_CLAIM_MISSING,
    ),
    "claim value not allowed": (
        VALUE_MATCHING_SIMPLE,
        {"my_credential": [_presented(dict(MINIMAL, postal_code="10001"))]},
        Reason.DCQL_CLAIM_VALUE_MISMATCH,
    ),
    "no claim set satisfied": (
        CLAIMS_ALTERNATIVES,
        {"pid": [_presented({"last_name": "Doe", "date_of_birth": "1940-01-01", "locality": "x"})]},
        Reason.DCQL_CLAIM_MISSING,
    ),
    "second presentation bad": (
        SIMPLE.replace('"format": "dc+sd-jwt",', '"format": "dc+sd-jwt", "multiple": true,'),
        {"my_credential": [_presented(MINIMAL), _presented(_drop(MINIMAL, "last_name"))]},
        Reason.DCQL_CLAIM_MISSING,
    ),
}


@pytest.mark.parametrize("name", sorted(VERIFIER_NEGATIVES))
def test_check_negative(name: str) -> None:
    text, answer, reason = VERIFIER_NEGATIVES[name]
    with pytest.raises(PasserelleError) as exc:
        check_dcql_response(_q(text), answer)
    assert _reason(exc) is reason
    assert exc.value.wire_error == "invalid_request"


def test_check_untrusted_authority() -> None:
    query = _with_authorities(
        [AKI_ENTRY, {"type": "passerelle_lote", "values": ["https://lists.example.eu/pid.json"]}]
    )
    presented = _presented(MINIMAL, issuer_aki=frozenset({"AAAA"}), trust_tags=frozenset({"x"}))
    with pytest.raises(PasserelleError) as exc:
        check_dcql_response(query, {"my_credential": [presented]})
    assert _reason(exc) is Reason.DCQL_UNTRUSTED_AUTHORITY
    tagged = _presented(MINIMAL, trust_tags=frozenset({"https://lists.example.eu/pid.json"}))
    check_dcql_response(query, {"my_credential": [tagged]})


def test_wallet_answer_passes_the_verifier_check() -> None:
    """The two sides agree: what match_dcql chooses, disclosed as chosen, checks clean."""
    query = _q(CREDENTIALS_ALTERNATIVES)
    wallet = {c.credential_id: c for c in _alt_wallet(rewards=True)}
    plan = match_dcql(query, list(wallet.values()))
    answer: dict[str, list[PresentedCredential]] = {}
    for query_id, matched in plan.credentials.items():
        for item in matched:
            held = wallet[item.credential_id]
            disclosed: JsonObject = {}
            for path in item.disclose:
                key = path[0]
                assert isinstance(key, str)
                disclosed[key] = held.claims[key]
            answer.setdefault(query_id, []).append(_presented(disclosed, vct=held.vct))
    check = check_dcql_response(query, answer)
    assert check.over_disclosed == {}
    assert check.satisfied_sets == plan.chosen_options
