#!/usr/bin/env node
// Interop peer around @animo-id/mdoc (ISO/IEC 18013-5 mdoc, TypeScript).
//
// Protocol: one JSON request on stdin, one JSON answer on stdout; on failure
// {"error": "<message>"} and exit code 1. Binary values travel as base64url.
//
// The library takes its cryptography as injected callbacks (its MdocContext); it
// ships none. The callbacks below use only Node's own crypto (WebCrypto for ECDSA,
// X509Certificate for certificates) and do nothing mdoc-specific: every mdoc rule
// checked (digests, MSO validity, device signature, the signed-within-certificate
// rule, the country checks) is the library's own, through its default callback
// that throws on the first failed check.

import { X509Certificate, createHash, randomBytes, webcrypto } from "node:crypto";
import {
  DeviceResponse,
  Document,
  MDoc,
  Verifier,
  cborEncode,
  parseIssuerSigned,
} from "@animo-id/mdoc";

const CURVES = { ES256: ["P-256", "SHA-256"], ES384: ["P-384", "SHA-384"], ES512: ["P-521", "SHA-512"] };

const b64 = (bytes) => Buffer.from(bytes).toString("base64url");
const unb64 = (text) => new Uint8Array(Buffer.from(text, "base64url"));

async function ecKey(jwk, alg, usage) {
  const [namedCurve] = CURVES[alg] ?? [];
  if (!namedCurve) throw new Error(`harness: alg ${alg} is not wired up`);
  const { kty, crv, x, y, d } = jwk;
  const material = usage === "sign" ? { kty, crv, x, y, d } : { kty, crv, x, y };
  return webcrypto.subtle.importKey("jwk", material, { name: "ECDSA", namedCurve }, false, [usage]);
}

function certificateChainValid(trustedCertificates, x5chain, now) {
  // Plain RFC 5280 signature chaining and validity, nothing more: the integrator's part.
  const chain = x5chain.map((der) => new X509Certificate(Buffer.from(der)));
  const anchors = trustedCertificates.map((der) => new X509Certificate(Buffer.from(der)));
  for (const cert of chain) {
    if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) {
      throw new Error("harness: a certificate of the x5chain is outside its validity");
    }
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i].checkIssued(chain[i + 1]) || !chain[i].verify(chain[i + 1].publicKey)) {
      throw new Error("harness: the x5chain is not a chain");
    }
  }
  const top = chain[chain.length - 1];
  const anchored = anchors.some(
    (anchor) =>
      anchor.raw.equals(top.raw) || (top.checkIssued(anchor) && top.verify(anchor.publicKey)),
  );
  if (!anchored) throw new Error("harness: the x5chain does not lead to a trusted certificate");
}

function context(now) {
  return {
    crypto: {
      random: (length) => new Uint8Array(randomBytes(length)),
      digest: ({ digestAlgorithm, bytes }) =>
        new Uint8Array(createHash(digestAlgorithm.replace("-", "").toLowerCase()).update(bytes).digest()),
      calculateEphemeralMacKeyJwk: () => {
        throw new Error("harness: MAC device authentication is not wired up");
      },
    },
    cose: {
      sign1: {
        sign: async ({ sign1, jwk }) => {
          const { data, alg } = sign1.getRawSigningData();
          const key = await ecKey(jwk, alg, "sign");
          const hash = CURVES[alg][1];
          return new Uint8Array(await webcrypto.subtle.sign({ name: "ECDSA", hash }, key, data));
        },
        verify: async ({ sign1, jwk, options }) => {
          const { data, signature, alg } = sign1.getRawVerificationData(options);
          const key = await ecKey(jwk, alg, "verify");
          const hash = CURVES[alg][1];
          return webcrypto.subtle.verify({ name: "ECDSA", hash }, key, signature, data);
        },
      },
      mac0: {
        sign: () => {
          throw new Error("harness: COSE_Mac0 is not wired up");
        },
        verify: () => {
          throw new Error("harness: COSE_Mac0 is not wired up");
        },
      },
    },
    x509: {
      getIssuerNameField: ({ certificate, field }) =>
        new X509Certificate(Buffer.from(certificate)).issuer
          .split("\n")
          .filter((line) => line.startsWith(`${field}=`))
          .map((line) => line.slice(field.length + 1)),
      getPublicKey: ({ certificate }) =>
        new X509Certificate(Buffer.from(certificate)).publicKey.export({ format: "jwk" }),
      validateCertificateChain: ({ trustedCertificates, x5chain }) =>
        certificateChainValid(trustedCertificates, x5chain, now),
      getCertificateData: ({ certificate }) => {
        const cert = new X509Certificate(Buffer.from(certificate));
        return {
          issuerName: cert.issuer.replaceAll("\n", ", "),
          subjectName: cert.subject.replaceAll("\n", ", "),
          serialNumber: cert.serialNumber,
          thumbprint: cert.fingerprint256.replaceAll(":", "").toLowerCase(),
          notBefore: new Date(cert.validFrom),
          notAfter: new Date(cert.validTo),
          pem: cert.toString(),
        };
      },
    },
  };
}

function toJson(value) {
  if (value instanceof Map) {
    return Object.fromEntries(Array.from(value.entries(), ([k, v]) => [String(k), toJson(v)]));
  }
  if (value instanceof Uint8Array) return { bytes: b64(value) };
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toJson);
  if (value !== null && typeof value === "object") {
    if (typeof value.toJSON === "function") return value.toJSON();
    if (value.data !== undefined && value.constructor?.name === "DataItem") return toJson(value.data);
    if (typeof value.toString === "function" && value.constructor?.name === "DateOnly") {
      return value.toString();
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  }
  return value;
}

function disclosed(document) {
  const out = {};
  for (const [namespace, items] of document.issuerSigned.nameSpaces ?? new Map()) {
    out[namespace] = Object.fromEntries(items.map((item) => [item.elementIdentifier, toJson(item.elementValue)]));
  }
  return out;
}

// Sessions carry the SessionTranscript as our side builds it (OpenID4VP 1.0 B.2.6);
// the library wants SessionTranscriptBytes, i.e. wrapped in tag 24.
function transcriptBytes(request) {
  const transcript = unb64(request.sessionTranscript);
  return wrapTag24(transcript);
}

function wrapTag24(inner) {
  // #6.24(bstr): d8 18, then the bstr header and the bytes.
  const length = inner.length;
  let header;
  if (length < 24) header = [0x40 | length];
  else if (length < 0x100) header = [0x58, length];
  else if (length < 0x10000) header = [0x59, length >> 8, length & 0xff];
  else header = [0x5a, (length >>> 24) & 0xff, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff];
  return new Uint8Array([0xd8, 0x18, ...header, ...inner]);
}

async function verify(request) {
  const now = new Date(request.now);
  const trustedCertificates = request.trusted.map(unb64);
  const response = await new Verifier().verifyDeviceResponse(
    {
      encodedDeviceResponse: unb64(request.deviceResponse),
      encodedSessionTranscript: transcriptBytes(request),
      trustedCertificates,
      now,
    },
    context(now),
  );
  return { documents: response.documents.map((d) => ({ docType: d.docType, nameSpaces: disclosed(d) })) };
}

async function verifyIssuerSigned(request) {
  const now = new Date(request.now);
  const ctx = context(now);
  const document = parseIssuerSigned(unb64(request.issuerSigned), request.docType);
  const verifier = new Verifier();
  await verifier.verifyIssuerSignature(
    {
      issuerAuth: document.issuerSigned.issuerAuth,
      trustedCertificates: request.trusted.map(unb64),
      disableCertificateChainValidation: false,
      now,
    },
    ctx,
  );
  await verifier.verifyData({ mdoc: document }, ctx);
  return { docType: document.docType, nameSpaces: disclosed(document) };
}

async function issue(request) {
  const ctx = context(new Date());
  let document = new Document(request.docType, ctx);
  for (const [namespace, values] of Object.entries(request.nameSpaces)) {
    document = document.addIssuerNameSpace(namespace, values);
  }
  const signed = await document
    .useDigestAlgorithm("SHA-256")
    .addValidityInfo({
      signed: new Date(request.validity.signed),
      validFrom: new Date(request.validity.validFrom),
      validUntil: new Date(request.validity.validUntil),
    })
    .addDeviceKeyInfo({ deviceKey: request.devicePublicJwk })
    .sign(
      { issuerPrivateKey: request.issuerPrivateJwk, issuerCertificate: unb64(request.issuerCertificate), alg: "ES256" },
      ctx,
    );
  const issuerSigned = cborEncode(signed.prepare().get("issuerSigned"));
  return { mdoc: b64(new MDoc([signed]).encode()), issuerSigned: b64(issuerSigned) };
}

async function present(request) {
  const ctx = context(new Date());
  const fields = [];
  for (const [namespace, identifiers] of Object.entries(request.disclose)) {
    for (const identifier of identifiers) {
      fields.push({ path: [`$['${namespace}']['${identifier}']`], intent_to_retain: false });
    }
  }
  const pd = {
    id: "passerelle",
    input_descriptors: [
      {
        id: request.docType,
        format: { mso_mdoc: { alg: ["ES256"] } },
        constraints: { limit_disclosure: "required", fields },
      },
    ],
  };
  const response = await DeviceResponse.from(unb64(request.mdoc))
    .usingPresentationDefinition(pd)
    .usingSessionTranscriptBytes(transcriptBytes(request))
    .authenticateWithSignature(request.devicePrivateJwk, "ES256")
    .sign(ctx);
  return { deviceResponse: b64(response.encode()) };
}

const OPS = { verify, verifyIssuerSigned, issue, present };

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
try {
  const request = JSON.parse(input);
  const op = OPS[request.op];
  if (!op) throw new Error(`harness: unknown op ${request.op}`);
  process.stdout.write(`${JSON.stringify(await op(request))}\n`);
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: String(error?.message ?? error) })}\n`);
  process.exitCode = 1;
}
