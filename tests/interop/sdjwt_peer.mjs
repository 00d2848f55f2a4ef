#!/usr/bin/env node
// Interop peer around the OpenWallet Foundation @sd-jwt/* TypeScript libraries.
//
// Protocol: one JSON request on stdin, one JSON answer on stdout. On any failure
// the answer is {"error": "<message>"} and the exit code is 1. See README.md.
//
// The harness adds as little as it can on top of the library so that what we
// cross-validate is the library's behaviour, not ours. Where the library skips a
// check the harness must do (KB-JWT `aud`), the harness does it and says so in
// its error message ("harness: ...").

import { webcrypto, randomBytes } from "node:crypto";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { digest } from "@sd-jwt/crypto-nodejs";
import { decodeSdJwt, getClaims } from "@sd-jwt/decode";
import { compactVerify, importJWK } from "jose";
import { readStdin, requireObject, requireString } from "./harness.mjs";

// No internet here, and a peer that fetched type metadata or status lists behind
// our back would make results depend on the network. Every fetch the library
// could make goes through the explicit maps of the request instead.
globalThis.fetch = async (url) => {
  throw new Error(`harness: network access is disabled (attempted fetch of ${String(url)})`);
};

const ES256 = "ES256";

function b64url(bytes) {
  return Buffer.from(bytes).toString("base64url");
}

// RFC 9901 §9.3 recommends 128 bits of salt entropy; the library's own
// generateSalt(16) yields 16 hex characters (64 bits), so we bring our own.
function saltGenerator() {
  return b64url(randomBytes(16));
}

function checkP256(jwk, name, needPrivate) {
  requireObject(jwk, name);
  if (jwk.kty !== "EC" || jwk.crv !== "P-256") {
    throw new Error(`harness: "${name}" must be an EC P-256 JWK (only ES256 is wired up)`);
  }
  if (needPrivate && typeof jwk.d !== "string") {
    throw new Error(`harness: "${name}" must be a private JWK (member "d")`);
  }
}

async function es256Signer(privateJwk, name) {
  checkP256(privateJwk, name, true);
  const key = await importJWK(privateJwk, ES256);
  // WebCrypto ECDSA already yields the JWS (IEEE P1363 r||s) signature form.
  return async (signingInput) => {
    const signature = await webcrypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      key,
      new TextEncoder().encode(signingInput),
    );
    return b64url(new Uint8Array(signature));
  };
}

async function es256Verifier(publicJwk, name) {
  checkP256(publicJwk, name, false);
  const { d: _ignored, ...pub } = publicJwk;
  const key = await importJWK(pub, ES256);
  // The library hands us "<header>.<payload>" and the signature; jose then also
  // enforces the header's alg against the allow-list.
  return async (signingInput, signature) => {
    try {
      await compactVerify(`${signingInput}.${signature}`, key, { algorithms: [ES256] });
      return true;
    } catch {
      return false;
    }
  };
}

// The library calls the KB verifier with the verified (disclosed) payload, so the
// holder key comes from the credential's cnf.jwk, as RFC 9901 §7.3 asks.
async function kbVerifier(signingInput, signature, payload) {
  const jwk = payload?.cnf?.jwk;
  if (!jwk) {
    throw new Error("harness: the SD-JWT has no cnf.jwk to verify the KB-JWT with");
  }
  const verify = await es256Verifier(jwk, "cnf.jwk");
  return verify(signingInput, signature);
}

function mapFetcher(map, what) {
  return async (uri) => {
    if (map && Object.prototype.hasOwnProperty.call(map, uri)) {
      return map[uri];
    }
    throw new Error(`harness: no ${what} supplied in the request for ${uri} (network is disabled)`);
  };
}

async function instance(request, extra) {
  return new SDJwtVcInstance({
    hasher: digest,
    hashAlg: "sha-256",
    saltGenerator,
    statusListFetcher: mapFetcher(request.statusLists, "status list"),
    vctFetcher: mapFetcher(request.typeMetadata, "type metadata"),
    loadTypeMetadataFormat: false,
    ...extra,
  });
}

function decodeJwtPart(compact) {
  const [header, payload] = compact.split(".");
  return {
    header: JSON.parse(Buffer.from(header, "base64url").toString("utf8")),
    payload: JSON.parse(Buffer.from(payload, "base64url").toString("utf8")),
  };
}

async function opIssue(request) {
  const payload = requireObject(request.payload, "payload");
  const frame = request.disclosureFrame === undefined ? undefined : requireObject(request.disclosureFrame, "disclosureFrame");
  const header = request.header === undefined ? {} : requireObject(request.header, "header");
  const sdjwt = await instance(request, {
    signer: await es256Signer(request.issuerJwk, "issuerJwk"),
    signAlg: ES256,
  });
  const token = await sdjwt.issue(payload, frame, { header });
  return { token };
}

async function opVerify(request) {
  const token = requireString(request.token, "token");
  const requireKeyBinding = request.requireKeyBinding === true;
  const nonce = request.nonce;
  const aud = request.aud;
  if (requireKeyBinding && (typeof nonce !== "string" || typeof aud !== "string")) {
    // The library only looks at the KB-JWT when it is given a nonce, and never at aud.
    throw new Error('harness: "requireKeyBinding" needs both "nonce" and "aud"');
  }
  const verifier = await es256Verifier(request.issuerJwk, "issuerJwk");
  const statusVerifier = request.statusListJwk ? await es256Verifier(request.statusListJwk, "statusListJwk") : verifier;
  const sdjwt = await instance(request, { verifier, kbVerifier, statusVerifier });
  const options = {};
  if (typeof nonce === "string") options.keyBindingNonce = nonce;
  if (typeof request.currentDate === "number") options.currentDate = request.currentDate;
  if (typeof request.skewSeconds === "number") options.skewSeconds = request.skewSeconds;
  if (Array.isArray(request.requiredClaimKeys)) options.requiredClaimKeys = request.requiredClaimKeys;

  const result = await sdjwt.verify(token, options);
  const kb = result.kb ?? null;
  if (kb !== null && typeof aud === "string" && kb.payload.aud !== aud) {
    throw new Error(`harness: KB-JWT aud mismatch (expected ${JSON.stringify(aud)}, got ${JSON.stringify(kb.payload.aud)})`);
  }
  return {
    payload: result.payload,
    header: result.header,
    keyBinding: kb !== null,
    kb: kb === null ? null : { header: kb.header, payload: kb.payload },
  };
}

async function opPresent(request) {
  const token = requireString(request.token, "token");
  const frame = request.presentationFrame === undefined ? undefined : requireObject(request.presentationFrame, "presentationFrame");
  let extra = {};
  let options;
  if (request.holderJwk !== undefined && request.holderJwk !== null) {
    extra = { kbSigner: await es256Signer(request.holderJwk, "holderJwk"), kbSignAlg: ES256 };
    const iat = typeof request.iat === "number" ? request.iat : Math.floor(Date.now() / 1000);
    options = {
      kb: {
        payload: {
          iat,
          aud: requireString(request.aud, "aud"),
          nonce: requireString(request.nonce, "nonce"),
        },
      },
    };
  }
  const sdjwt = await instance(request, extra);
  return { token: await sdjwt.present(token, frame, options) };
}

async function opDecode(request) {
  const token = requireString(request.token, "token");
  const decoded = await decodeSdJwt(token, digest);
  const claims = await getClaims(decoded.jwt.payload, decoded.disclosures, digest);
  const parts = token.split("~");
  const kbCompact = parts.length > 1 ? parts[parts.length - 1] : "";
  return {
    header: decoded.jwt.header,
    payload: decoded.jwt.payload,
    claims,
    disclosures: decoded.disclosures.map((d) => d.decode()),
    disclosureDigests: decoded.disclosures.map((d) => d._digest),
    kbJwt: kbCompact ? decodeJwtPart(kbCompact) : null,
  };
}

const OPERATIONS = { issue: opIssue, verify: opVerify, present: opPresent, decode: opDecode };

async function main() {
  let answer;
  try {
    const request = requireObject(JSON.parse(await readStdin()), "request");
    const operation = OPERATIONS[request.op];
    if (!operation) {
      throw new Error(`harness: unknown op ${JSON.stringify(request.op)}; expected one of ${Object.keys(OPERATIONS).join(", ")}`);
    }
    answer = await operation(request);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stdout.write(`${JSON.stringify({ error: message })}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}

await main();
