"""``docs/requirements.md``: every requirement the suite enforces, and what it does not yet.

Generated from the check registry, so the document cannot drift from what runs; the
output is sorted, so a test can compare the committed file with a fresh rendering.
``UNCOVERED`` is the curated other half: normative sentences of the standards pinned in
DESIGN §3 that no check enforces yet. A requirement leaves that list by itself as soon
as a check quotes it.

Regenerate with ``python -m conformance.requirements docs/requirements.md``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from ._haip_presentation import HAIP_PRESENTATION
from ._model import Check, Requirement

__all__ = ["UNCOVERED", "WHY_UNCOVERED", "main", "render_registry", "requirements_markdown"]

_HAIP_COMMIT = "c396894fa628763d5575d9f12f80f8f9f4773067"
_HAIP = (
    f"https://github.com/openid/oid4vc-haip/blob/{_HAIP_COMMIT}/"
    "openid4vc-high-assurance-interoperability-profile-1_0.md"
)
_OID4VCI = "https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html"
_OID4VP = "https://openid.net/specs/openid-4-verifiable-presentations-1_0.html"
_RFC9901 = "https://www.rfc-editor.org/rfc/rfc9901.html"
_DSP = "https://eclipse-dataspace-protocol-base.github.io/DataspaceProtocol/2025-1/"

UNCOVERED: tuple[Requirement, ...] = (
    # HAIP: the profile's sentences are quoted from the draft 04 source, linked by line at
    # a fixed commit, because that is the text we could read word for word.
    Requirement(
        spec="OpenID4VC HAIP 1.0",
        section="4 (draft 04 text)",
        text=(
            "Both the Wallet and the Credential Issuer: … MUST support sender-constrained "
            "tokens using the mechanism defined in [RFC9449]."
        ),
        link=f"{_HAIP}#L125",
    ),
    Requirement(
        spec="OpenID4VC HAIP 1.0",
        section="4.3 (draft 04 text)",
        text=(
            "MUST use Pushed Authorization Requests (PAR) [RFC9126] to send the Authorization "
            "Request."
        ),
        link=f"{_HAIP}#L148",
    ),
    Requirement(
        spec="OpenID4VC HAIP 1.0",
        section="4.4.1 (draft 04 text)",
        text="Wallets MUST use Wallet Attestations as defined in Annex E of [OIDF.OID4VCI].",
        link=f"{_HAIP}#L162",
    ),
    Requirement(
        spec="OpenID4VC HAIP 1.0",
        section="4.5.1 (draft 04 text)",
        text="Wallets MUST support key attestations as defined in Annex D of [OIDF.OID4VCI].",
        link=f"{_HAIP}#L176",
    ),
    Requirement(
        spec="OpenID4VCI 1.0",
        section="E",
        text=(
            "The Authorization Server MUST verify that the Wallet Attestation is signed by an "
            "issuer that the Credential Issuer trusts for this purpose."
        ),
        link=f"{_OID4VCI}#appendix-E",
    ),
    Requirement(
        spec="OpenID4VP 1.0",
        section="B.2.6.1",
        text=(
            "If the presentation request is invoked using redirects, the `SessionTranscript` "
            "CBOR structure as defined in Section 9.1.5.1 in [ISO.18013-5] MUST be used with "
            "the following changes:"
        ),
        link=f"{_OID4VP}#appendix-B.2.6.1",
    ),
    Requirement(
        spec="RFC 9901",
        section="8.1",
        text=(
            "In an SD-JWT+KB, `kb_jwt` MUST be present when using the JWS JSON Serialization, "
            "and the digest in the `sd_hash` claim MUST be taken over the SD-JWT as described "
            "in Section 4.3.1."
        ),
        link=f"{_RFC9901}#section-8.1",
    ),
    Requirement(
        spec="RFC 9901",
        section="8.3",
        text=(
            "If present, `disclosures` and `kb_jwt`, MUST be included in the first unprotected "
            "header and MUST NOT be present in any following unprotected headers."
        ),
        link=f"{_RFC9901}#section-8.3",
    ),
    Requirement(
        spec="Dataspace Protocol 2025-1",
        section="Common Requirements: Exposure of Versions",
        text=(
            "Each Connector MUST provide a version metadata endpoint ending with Uniform "
            "Resource Identifier (URI) segments `/.well-known/dspace-version`."
        ),
        link=f"{_DSP}#exposure-of-dataspace-protocol-versions",
    ),
    *(requirement for requirement, _ in HAIP_PRESENTATION),
)

_WHY_BY_LINK: dict[str, str] = {
    f"{_HAIP}#L162": (
        "A wallet's duty. Passerelle's wallet presents a wallet attestation from the "
        "development wallet provider at PAR and token (services/wallet/haip.py, "
        "tests/e2e/test_wallet_receive.py); the issuer side is enforced by ISS-HAIP-01 and "
        "ISS-HAIP-02. The wallet plan plays an issuer that demands one and judges it: "
        "WAL-HAIP-01 (attestation and PoP at PAR and token), with WAL-HAIP-02..05 (DPoP)."
    ),
}

#: Why a requirement no check quotes is met elsewhere (code and test) or left, by text.
WHY_UNCOVERED: dict[str, str] = {
    **{r.text: _WHY_BY_LINK[r.link] for r in UNCOVERED if r.link in _WHY_BY_LINK},
    **{r.text: why for r, why in HAIP_PRESENTATION},
}


def _natural(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key under which §4.10 comes after §4.9."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.casefold())
        for part in re.findall(r"\d+|\D+", text)
    )


def _requirement_key(r: Requirement) -> tuple[object, ...]:
    return (_natural(r.section.lstrip("§ ")), r.text, r.link)


def _wording(text: str) -> str:
    """The sentence without the markup plans differ on (backticks, spacing, case)."""
    return " ".join(text.replace("`", "").split()).casefold()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _quote(text: str) -> list[str]:
    return [f"> {line}".rstrip() for line in text.splitlines() or [""]]


def _requirement_block(heading: str, r: Requirement) -> list[str]:
    return [
        f"{heading} {r.section} — {r.level}",
        "",
        *_quote(r.text),
        "",
        f"<{r.link}>",
        "",
    ]


def requirements_markdown(checks: Iterable[Check], known: Iterable[Requirement] = UNCOVERED) -> str:
    """The requirement matrix as Markdown: by spec, each requirement with the checks that
    enforce it; then the requirements of ``known`` that no check enforces."""
    enforced: dict[Requirement, list[Check]] = {}
    for check in checks:
        enforced.setdefault(check.requirement, []).append(check)
    # A check may quote the sentence with different markup or section label: still covered.
    covered = {_wording(r.text) for r in enforced}
    uncovered = sorted(
        {r for r in known if _wording(r.text) not in covered},
        key=lambda r: (r.spec.casefold(), *_requirement_key(r)),
    )
    specs = sorted({r.spec for r in enforced}, key=str.casefold)
    n_checks = sum(len(v) for v in enforced.values())
    lines = [
        "# Requirements and the checks that enforce them",
        "",
        "<!-- Generated by `python -m conformance.requirements docs/requirements.md` from the",
        "     check registry: change the checks, not this file. -->",
        "",
        f"The conformance suite enforces {len(enforced)} normative requirements of "
        f"{len(specs)} specifications with {n_checks} checks. Each check quotes its "
        "requirement word for word; the level is the requirement's own keyword, the "
        "severity says whether failing the check fails a run (`required`) or is reported "
        "only (`recommended`).",
        "",
    ]
    for spec in specs:
        lines += [f"## {spec}", ""]
        for requirement in sorted((r for r in enforced if r.spec == spec), key=_requirement_key):
            lines += _requirement_block("###", requirement)
            lines += ["| Check | Plan | Severity | Title |", "| --- | --- | --- | --- |"]
            for c in sorted(enforced[requirement], key=lambda c: _natural(c.id)):
                lines.append(f"| `{c.id}` | {c.plan} | {c.severity.value} | {_cell(c.title)} |")
            lines.append("")
    lines += [
        "## Not yet covered",
        "",
        "Normative requirements of the standards pinned in DESIGN §3 that no check enforces "
        "yet, mostly features the testbed does not implement. A partner's system is not "
        "tested against them here.",
        "",
    ]
    if not uncovered:
        lines += ["None.", ""]
    for spec in sorted({r.spec for r in uncovered}, key=str.casefold):
        lines += [f"### {spec}", ""]
        for requirement in (r for r in uncovered if r.spec == spec):
            lines += _requirement_block("####", requirement)
            if requirement.text in WHY_UNCOVERED:
                lines += [f"*Coverage:* {WHY_UNCOVERED[requirement.text]}", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def render_registry() -> str:
    """The document for every check the plans register."""
    from ._runner import select_checks

    return requirements_markdown(select_checks())


def main(argv: Sequence[str] | None = None) -> int:
    """Write the document to the path given, or print it; ``--check`` only compares."""
    args = list(sys.argv[1:] if argv is None else argv)
    check_only = "--check" in args
    paths = [a for a in args if a != "--check"]
    text = render_registry()
    if not paths:
        sys.stdout.write(text)
        return 0
    path = Path(paths[0])
    if check_only:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            sys.stderr.write(f"{path} is out of date: run python -m conformance.requirements\n")
            return 1
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
