#!/usr/bin/env node
// HAIP's OAuth pieces from the OpenWallet Foundation @openid4vc/oauth2 and
// @openid4vc/openid4vci libraries (0.4.6), driven from a test: DPoP (RFC 9449),
// attestation-based client authentication (the OAuth-Client-Attestation headers) and
// key attestations (OpenID4VCI 1.0 Appendix D).
//
// Protocol: one JSON request on stdin, one JSON answer (one line) on stdout. On any
// failure the answer is {"error": "<message>", ...details} and the exit code is 1.
// Messages starting with "harness:" come from this wrapper, the others from the library.
//
// Everything is made and checked by the libraries with their defaults. The harness only
// supplies what they take as callbacks: ES256 signing and verification with `jose`,
// SHA-2 hashes, randomness, a fetch that records what the client sends instead of using the
// network, and, for x5c signers, a plain certificate-path check to the given anchor.
//
// Ops (JWKs are EC P-256; "private" ones carry d; x5c is base64 DER, leaf first):
//   {"op": "token-request", "tokenEndpoint", "issuer", "dpopJwk" (private),
//    "instanceJwk" (private), "attester": {"jwk" (private), "x5c", "iss"}, "clientId",
//    "nonce": string|null}  -> the client's token request(s); with a nonce, the fake server
//    first answers use_dpop_nonce with that DPoP-Nonce, so the client retries with it.
//   {"op": "resource-request", "url", "method", "accessToken", "dpopJwk", "nonce"}
//   {"op": "verify-token-request", "tokenEndpoint", "issuer", "headers", "anchor" (b64 DER),
//    "preAuthorizedCode", "now" (epoch s)}
//   {"op": "verify-resource-request", "url", "method", "headers", "issuer", "jwks",
//    "resourceServer", "now"}
//   {"op": "create-key-attestation", "attester", "attestedKeys", "nonce", "use",
//    "expiresInSeconds"}
//   {"op": "verify-jwt-proof", "jwt", "credentialIssuer", "expectedNonce", "clientId",
//    "anchor", "now"}
//   {"op": "verify-attestation-proof", "jwt", "expectedNonce", "anchor", "now"}

import { X509Certificate } from "node:crypto";
import {
  Oauth2AuthorizationServer,
  Oauth2Client,
  Oauth2ResourceServer,
  clientAuthenticationClientAttestationJwt,
  createClientAttestationJwt,
  resourceRequest,
} from "@openid4vc/oauth2";
import { Openid4vciIssuer, createKeyAttestationJwt } from "@openid4vc/openid4vci";
import { CompactSign, calculateJwkThumbprint, compactVerify, importJWK, importX509 } from "jose";
import { generateRandom, hash, publicPart, readStdin, requireObject, requireString } from "./harness.mjs";

const ES256 = "ES256";

function pem(b64der) {
  return `-----BEGIN CERTIFICATE-----\n${b64der.match(/.{1,64}/g).join("\n")}\n-----END CERTIFICATE-----\n`;
}

// Sign with whichever of the given private keys the library names: by JWK thumbprint for
// "jwk" signers, by the leaf certificate for "x5c" signers.
function signJwtWith(privateJwks, x5cKey) {
  return async (signer, { header, payload }) => {
    if (signer.alg !== ES256) throw new Error(`harness: asked to sign with ${signer.alg}`);
    let privateJwk;
    if (signer.method === "jwk") {
      const wanted = await calculateJwkThumbprint(publicPart(signer.publicJwk));
      for (const jwk of privateJwks) {
        if ((await calculateJwkThumbprint(publicPart(jwk))) === wanted) privateJwk = jwk;
      }
    } else if (signer.method === "x5c") {
      privateJwk = x5cKey;
    }
    if (!privateJwk) throw new Error(`harness: no key for signer method ${signer.method}`);
    const key = await importJWK(privateJwk, ES256);
    const jwt = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader(header)
      .sign(key);
    return { jwt, signerJwk: signer.publicJwk };
  };
}

// The trust decision the libraries leave to their verifyJwt callback: a "jwk" signer is
// taken as given (the library has already tied it to cnf or the header), an "x5c" signer
// must chain to the anchor, each certificate valid at `now` and signed by the next.
function verifyJwtWith({ anchor, now }) {
  return async (signer, { compact }) => {
    let key;
    let signerJwk = signer.publicJwk;
    if (signer.method === "jwk") {
      key = await importJWK(signer.publicJwk, signer.alg);
    } else if (signer.method === "x5c") {
      if (!anchor) throw new Error("harness: an x5c signer needs an anchor");
      const chain = [...signer.x5c.map((c) => new X509Certificate(pem(c))), new X509Certificate(pem(anchor))];
      const at = new Date(now * 1000);
      for (let i = 0; i < chain.length; i++) {
        if (at < new Date(chain[i].validFrom) || at > new Date(chain[i].validTo)) return { verified: false };
        const issuer = chain[Math.min(i + 1, chain.length - 1)];
        if (!chain[i].verify(issuer.publicKey)) return { verified: false };
      }
      key = await importX509(pem(signer.x5c[0]), signer.alg);
      signerJwk = chain[0].publicKey.export({ format: "jwk" });
    } else {
      throw new Error(`harness: signer method ${signer.method} is not wired up`);
    }
    try {
      await compactVerify(compact, key, { algorithms: [signer.alg] });
      return { verified: true, signerJwk };
    } catch {
      return { verified: false };
    }
  };
}

function headersOf(init) {
  const out = {};
  new Headers(init?.headers ?? {}).forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

function jsonResponse(status, body, headers = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

// --- ops ---------------------------------------------------------------------------------

async function tokenRequest(request) {
  const dpopJwk = requireObject(request.dpopJwk, "dpopJwk");
  const instanceJwk = requireObject(request.instanceJwk, "instanceJwk");
  const attester = requireObject(request.attester, "attester");
  const issuer = requireString(request.issuer, "issuer");
  const tokenEndpoint = requireString(request.tokenEndpoint, "tokenEndpoint");
  const captured = [];
  const fetch = async (url, init) => {
    const headers = headersOf(init);
    captured.push({ url: String(url), method: init?.method ?? "GET", headers });
    const dpop = headers.dpop ? JSON.parse(Buffer.from(headers.dpop.split(".")[1], "base64url")) : {};
    if (request.nonce && dpop.nonce !== request.nonce) {
      return jsonResponse(400, { error: "use_dpop_nonce" }, { "DPoP-Nonce": request.nonce });
    }
    return jsonResponse(200, { access_token: "at-1", token_type: "DPoP", expires_in: 300 });
  };
  const signJwt = signJwtWith([dpopJwk, instanceJwk], attester.jwk);
  const baseCallbacks = { hash, generateRandom, signJwt, fetch };
  const now = new Date();
  const clientAttestationJwt = await createClientAttestationJwt({
    callbacks: baseCallbacks,
    signer: { method: "x5c", alg: ES256, x5c: attester.x5c },
    issuer: requireString(attester.iss, "attester.iss"),
    clientId: requireString(request.clientId, "clientId"),
    confirmation: { jwk: publicPart(instanceJwk) },
    issuedAt: now,
    expiresAt: new Date(now.getTime() + 3600 * 1000),
  });
  const client = new Oauth2Client({
    callbacks: {
      ...baseCallbacks,
      clientAuthentication: clientAuthenticationClientAttestationJwt({ clientAttestationJwt, callbacks: baseCallbacks }),
    },
  });
  const result = await client.retrievePreAuthorizedCodeAccessToken({
    authorizationServerMetadata: { issuer, token_endpoint: tokenEndpoint },
    preAuthorizedCode: "pre-1",
    dpop: { signer: { method: "jwk", alg: ES256, publicJwk: publicPart(dpopJwk) } },
  });
  return { requests: captured, tokenType: result.accessTokenResponse.token_type };
}

async function resourceRequestOp(request) {
  const dpopJwk = requireObject(request.dpopJwk, "dpopJwk");
  const captured = [];
  const fetch = async (url, init) => {
    captured.push({ url: String(url), method: init?.method ?? "GET", headers: headersOf(init) });
    return jsonResponse(200, {});
  };
  await resourceRequest({
    url: requireString(request.url, "url"),
    requestOptions: { method: requireString(request.method, "method") },
    accessToken: requireString(request.accessToken, "accessToken"),
    dpop: {
      signer: { method: "jwk", alg: ES256, publicJwk: publicPart(dpopJwk) },
      nonce: request.nonce ?? undefined,
    },
    callbacks: { hash, generateRandom, signJwt: signJwtWith([dpopJwk]), fetch },
  });
  return { requests: captured };
}

async function verifyTokenRequest(request) {
  const issuer = requireString(request.issuer, "issuer");
  const tokenEndpoint = requireString(request.tokenEndpoint, "tokenEndpoint");
  const now = request.now;
  const callbacks = {
    hash,
    generateRandom,
    verifyJwt: verifyJwtWith({ anchor: request.anchor, now }),
  };
  const server = new Oauth2AuthorizationServer({ callbacks });
  const headers = new Headers(requireObject(request.headers, "headers"));
  const httpRequest = { headers, method: "POST", url: tokenEndpoint };
  const body = { grant_type: "urn:ietf:params:oauth:grant-type:pre-authorized_code", "pre-authorized_code": request.preAuthorizedCode };
  const parsed = server.parseAccessTokenRequest({ request: httpRequest, accessTokenRequest: body });
  const result = await server.verifyPreAuthorizedCodeAccessTokenRequest({
    grant: parsed.grant,
    accessTokenRequest: parsed.accessTokenRequest,
    request: httpRequest,
    dpop: { jwt: parsed.dpop?.jwt, required: true, allowedSigningAlgs: [ES256] },
    clientAttestation: {
      clientAttestationJwt: parsed.clientAttestation?.clientAttestationJwt,
      clientAttestationPopJwt: parsed.clientAttestation?.clientAttestationPopJwt,
      required: true,
    },
    authorizationServerMetadata: { issuer, token_endpoint: tokenEndpoint },
    expectedPreAuthorizedCode: request.preAuthorizedCode,
    now: new Date(now * 1000),
  });
  return {
    dpopJwkThumbprint: result.dpop?.jwkThumbprint ?? null,
    clientId: result.clientAttestation?.clientAttestation.payload.sub ?? null,
  };
}

async function verifyResourceRequestOp(request) {
  const issuer = requireString(request.issuer, "issuer");
  const jwksUri = `${issuer}/jwks`;
  const fetch = async (url) => {
    if (String(url) === jwksUri) return jsonResponse(200, request.jwks);
    return jsonResponse(404, {});
  };
  const server = new Oauth2ResourceServer({
    callbacks: { hash, generateRandom, fetch, verifyJwt: verifyJwtWith({ now: request.now }) },
  });
  const result = await server.verifyResourceRequest({
    authorizationServers: [{ issuer, token_endpoint: `${issuer}/token`, jwks_uri: jwksUri, dpop_signing_alg_values_supported: [ES256] }],
    resourceServer: requireString(request.resourceServer, "resourceServer"),
    request: { headers: new Headers(requireObject(request.headers, "headers")), method: request.method, url: request.url },
    now: new Date(request.now * 1000),
  });
  return { scheme: result.scheme, dpopJwk: result.dpop?.jwk ?? null };
}

async function createKeyAttestation(request) {
  const attester = requireObject(request.attester, "attester");
  const now = new Date();
  const jwt = await createKeyAttestationJwt({
    callbacks: { hash, generateRandom, signJwt: signJwtWith([], attester.jwk) },
    signer: { method: "x5c", alg: ES256, x5c: attester.x5c },
    attestedKeys: request.attestedKeys.map(publicPart),
    nonce: request.nonce ?? undefined,
    issuedAt: now,
    expiresAt: request.expiresInSeconds ? new Date(now.getTime() + request.expiresInSeconds * 1000) : undefined,
    keyStorage: ["iso_18045_moderate"],
    userAuthentication: ["iso_18045_moderate"],
    use: request.use,
  });
  return { jwt };
}

function issuerWith(request) {
  return new Openid4vciIssuer({
    callbacks: { hash, generateRandom, verifyJwt: verifyJwtWith({ anchor: request.anchor, now: request.now }) },
  });
}

async function verifyJwtProof(request) {
  const result = await issuerWith(request).verifyCredentialRequestJwtProof({
    issuerMetadata: { credentialIssuer: { credential_issuer: requireString(request.credentialIssuer, "credentialIssuer") } },
    jwt: requireString(request.jwt, "jwt"),
    expectedNonce: request.expectedNonce,
    clientId: request.clientId,
    now: new Date(request.now * 1000),
  });
  return { attestedKeys: result.keyAttestation?.payload.attested_keys ?? null };
}

async function verifyAttestationProof(request) {
  const result = await issuerWith(request).verifyCredentialRequestAttestationProof({
    keyAttestationJwt: requireString(request.jwt, "jwt"),
    expectedNonce: request.expectedNonce,
    now: new Date(request.now * 1000),
  });
  return { attestedKeys: result.payload.attested_keys };
}

const OPS = {
  "token-request": tokenRequest,
  "resource-request": resourceRequestOp,
  "verify-token-request": verifyTokenRequest,
  "verify-resource-request": verifyResourceRequestOp,
  "create-key-attestation": createKeyAttestation,
  "verify-jwt-proof": verifyJwtProof,
  "verify-attestation-proof": verifyAttestationProof,
};

async function main() {
  const request = requireObject(JSON.parse(await readStdin()), "request");
  const op = OPS[request.op];
  if (!op) throw new Error(`harness: unknown op ${request.op}`);
  process.stdout.write(`${JSON.stringify(await op(request))}\n`);
}

main().catch((err) => {
  const answer = { error: err?.message ?? String(err) };
  if (err?.errorResponse) answer.errorResponse = err.errorResponse;
  if (err?.cause?.message) answer.cause = err.cause.message;
  process.stdout.write(`${JSON.stringify(answer)}\n`);
  process.exit(1);
});
