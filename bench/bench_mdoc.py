"""How fast the core verifies an mdoc DeviceResponse (ISO/IEC 18013-5), as ratios to its
cryptographic floor, with a peer in the same process where one can run.

One presentation = a DeviceResponse of one mDL with 8 disclosed elements, its MSO
signed by a document signer under an IACA, device-signed over an OpenID4VP 1.0
SessionTranscript; ES256 throughout. The candidates see the very same bytes:

* ``floor`` — the two ECDSA verifications (the MSO's COSE_Sign1 and the device
  signature), with ``cryptography`` directly on the two Sig_structures prepared
  beforehand. No verifier can do less.
* ``ours`` — ``passerelle.mdoc.verify_device_response``: decoding, the x5chain path
  validation to the IACA with the Annex B profile (one more signature), the MSO checks,
  every digest, and the device signature.
* ``peer`` — PyPI ``pymdoccbor`` (with ``pycose``): issuer signature with its chain to
  the root and element digests, NOT device authentication (its verifier has none), so
  it does one signature less than the floor's two; its ratio is shown, not compared.

Repetitions interleave (``bench/_timing.py``); figures are medians.

    python -m bench.bench_mdoc                 # measure, print, write results JSON
    python -m bench.bench_mdoc --quick --out F # tiny: the plumbing only
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from passerelle import mdoc
from passerelle.services.runtime import SecretsRandom

from ._timing import interleave, median_ratio, rounded

__all__ = ["mdoc_presentation"]

RESULTS = Path(__file__).resolve().parent / "results" / "mdoc.json"

_ELEMENTS: dict[str, object] = {
    "family_name": "Tremblay-Gagnon",
    "given_name": "Éloïse",
    "birth_date": date(1991, 4, 17),
    "issuing_country": "CA",
    "document_number": "QC-7F3K-29XM-88",
    "age_over_18": True,
    "age_over_19": True,
    "age_over_21": True,
}


def _der_signature(raw: bytes) -> bytes:
    half = len(raw) // 2
    return encode_dss_signature(
        int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
    )


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return bytes(cbor2.dumps(["Signature1", protected, b"", payload]))


class _Case:
    def __init__(self, now: datetime) -> None:
        iaca_key = ec.generate_private_key(ec.SECP256R1())
        ds_key = ec.generate_private_key(ec.SECP256R1())
        self.device_key = ec.generate_private_key(ec.SECP256R1())
        self.now = now
        self.iaca = mdoc.build_iaca_certificate(
            key=iaca_key,
            common_name="Bench IACA",
            country="CA",
            issuer_alt_uri="https://iaca.bench.example",
            not_before=now - timedelta(days=1),
            not_after=now + timedelta(days=365),
            serial=1001,
        )
        self.ds: x509.Certificate = mdoc.build_document_signer_certificate(
            public_key=ds_key.public_key(),
            common_name="Bench DS",
            iaca=self.iaca,
            iaca_key=iaca_key,
            issuer_alt_uri="https://iaca.bench.example",
            not_before=now - timedelta(days=1),
            not_after=now + timedelta(days=90),
            serial=1002,
        )
        issued = mdoc.create_issuer_signed(
            doc_type=mdoc.DOCTYPE_MDL,
            namespaces={mdoc.NAMESPACE_MDL: _ELEMENTS},
            device_key=self.device_key.public_key(),
            validity=mdoc.ValidityInfo(
                signed=now - timedelta(hours=1),
                valid_from=now - timedelta(hours=1),
                valid_until=now + timedelta(days=30),
            ),
            signer_key=ds_key,
            certificate_chain=[self.ds],
            random=SecretsRandom(),
        )
        self.transcript = mdoc.create_openid4vp_session_transcript(
            client_id="x509_hash:bench", nonce="bench-nonce", response_uri="https://b/r",
            jwk_thumbprint=None,
        )  # fmt: skip
        self.response = mdoc.create_device_response(
            issued,
            disclose={mdoc.NAMESPACE_MDL: list(_ELEMENTS)},
            session_transcript=self.transcript,
            device_key=self.device_key,
        )
        document = cbor2.loads(self.response)["documents"][0]
        auth = document["issuerSigned"]["issuerAuth"]
        self.mso_input = _sig_structure(auth[0], auth[2])
        self.mso_signature = _der_signature(auth[3])
        self.ds_public = ds_key.public_key()
        device = document["deviceSigned"]
        signature = device["deviceAuth"]["deviceSignature"]
        payload = mdoc.device_authentication_bytes(
            session_transcript=self.transcript,
            doc_type=mdoc.DOCTYPE_MDL,
            device_namespaces_raw=device["nameSpaces"].value,
        )
        self.device_input = _sig_structure(signature[0], payload)
        self.device_signature = _der_signature(signature[3])
        self.device_public = self.device_key.public_key()


def _floor(case: _Case) -> Callable[[], object]:
    algorithm = ec.ECDSA(hashes.SHA256())

    def run() -> None:
        case.ds_public.verify(case.mso_signature, case.mso_input, algorithm)
        case.device_public.verify(case.device_signature, case.device_input, algorithm)

    return run


def _ours(case: _Case) -> Callable[[], object]:
    def run() -> object:
        return mdoc.verify_device_response(
            case.response,
            session_transcript=case.transcript,
            anchors=[case.iaca],
            now=case.now,
            expected_doc_type=mdoc.DOCTYPE_MDL,
        )

    return run


def _peer(case: _Case) -> Callable[[], object] | None:
    try:
        from pymdoccbor.mdoc.verifier import MdocCbor
    except ImportError:
        return None

    def run() -> object:
        verifier = MdocCbor()
        verifier.loads(case.response)
        if not verifier.verify(trusted_root_certs=[case.iaca]):
            raise AssertionError("pymdoccbor refused the bench DeviceResponse")
        return verifier

    return run


def mdoc_presentation(*, rounds: int, batch_seconds: float, quick: bool) -> dict[str, Any]:
    """Seconds per DeviceResponse verification and the ratios to the floor."""
    case = _Case(datetime.now(UTC).replace(microsecond=0))
    candidates: dict[str, Callable[[], object]] = {"floor": _floor(case), "ours": _ours(case)}
    peer = _peer(case)
    if peer is not None:
        candidates["peer_issuer_only"] = peer
    for run in candidates.values():
        run()  # every candidate accepts the bytes before anything is timed
    samples = interleave(candidates, rounds=rounds, batch_seconds=batch_seconds, quick=quick)
    seconds = {name: sorted(values)[len(values) // 2] for name, values in samples.items()}
    return {
        "elements": len(_ELEMENTS),
        "seconds": seconds,
        "per_second": {name: 1 / s for name, s in seconds.items() if s > 0},
        "ratio_to_floor": {
            name: median_ratio(samples[name], samples["floor"])
            for name in samples
            if name != "floor"
        },
        "notes": "peer_issuer_only: pymdoccbor verifies the issuer part only (no device auth)",
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rounds, batch = (3, 0.002) if args.quick else (15, 0.03)
    report = rounded(mdoc_presentation(rounds=rounds, batch_seconds=batch, quick=args.quick), 4)
    text = json.dumps(report, indent=2)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
