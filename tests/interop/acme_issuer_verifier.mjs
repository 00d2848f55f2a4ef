#!/usr/bin/env node
// "Acme": a third-party issuer and verifier that knows nothing of Passerelle, for the
// conformance suite's adapter test. It is built on the OpenWallet Foundation libraries
// (@openid4vc/oauth2 + @openid4vc/openid4vci for the issuer, the oid4vp_peer.mjs
// verifier on @openid4vc/openid4vp for presentations, @sd-jwt/sd-jwt-vc for the
// credentials), with its own CA and its OWN admin API, whose shapes are unlike
// Passerelle's test API on purpose:
//
//   POST /admin/v1/issuance        X-Acme-Key: <apiKey>
//        {"template": "<configuration id>", "holder": {"name": "<persona>"}, "requirePin": bool}
//        → 201 {"data": {"offerLink": "openid-credential-offer://?credential_offer_uri=…",
//                        "pin": "123456" | null}}
//   POST /admin/v1/verification    X-Acme-Key: <apiKey>
//        {"dcql": {…}, "mode": "direct_post" | "direct_post.jwt" | null}
//        → 201 {"data": {"ref": "<id>", "walletUrl": "openid4vp://…"}}
//   GET  /admin/v1/verification/<ref>   X-Acme-Key: <apiKey>
//        → {"data": {"status": "pending" | "succeeded" | "rejected", "problem": "…" | null}}
//
// Config: one JSON line on stdin:
//   {"apiKey", "issuerJwk": {private P-256}, "issuerX5c": [b64 DER, leaf first],
//    "verifierJwk": {private P-256}, "verifierX5c": [...], "anchorsPem": ["-----BEGIN…"],
//    "quirks": ["ignore-nonce"]}
// It prints {"base": "http://localhost:<port>"} and serves until killed.
//
// Quirk "ignore-nonce": the credential endpoint does not compare the key proof's nonce
// with the c_nonce values it gave out (OpenID4VCI 1.0 Appendix F.4 says it MUST).

import { createHash, randomBytes, randomInt, webcrypto } from "node:crypto";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { Oauth2AuthorizationServer, setGlobalConfig } from "@openid4vc/oauth2";
import { Openid4vciIssuer } from "@openid4vc/openid4vci";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { digest } from "@sd-jwt/crypto-nodejs";
import { compactVerify, importJWK } from "jose";

const ES256 = "ES256";
const HERE = dirname(fileURLToPath(import.meta.url));
const HASHES = { "sha-256": "sha256", "sha-384": "sha384", "sha-512": "sha512" };

const PERSONAS = {
  "ada-lovelace": { given_name: "Ada", family_name: "Lovelace", member_id: "ACME-0001" },
  "alan-turing": { given_name: "Alan", family_name: "Turing", member_id: "ACME-0002" },
};
const CONFIGURATION = "AcmeMembership";
const VCT = "https://acme.example/credentials/membership";

const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
const random = (n = 16) => b64url(randomBytes(n));
const hash = (data, alg) => new Uint8Array(createHash(HASHES[alg] ?? "sha256").update(data).digest());

async function readFirstLine() {
  let buffer = "";
  for await (const chunk of process.stdin) {
    buffer += chunk.toString("utf8");
    const newline = buffer.indexOf("\n");
    if (newline >= 0) return buffer.slice(0, newline);
  }
  return buffer;
}

function readBody(req) {
  return new Promise((done, fail) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => done(Buffer.concat(chunks).toString("utf8")));
    req.on("error", fail);
  });
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers });
  res.end(JSON.stringify(body));
}

function decodePart(compact, i) {
  return JSON.parse(Buffer.from(compact.split(".")[i], "base64url").toString("utf8"));
}

// The library asks us to verify the key proof's signature with the JWK in its header.
async function verifyJwt(signer, { compact }) {
  if (signer.method !== "jwk") return { verified: false };
  try {
    await compactVerify(compact, await importJWK(signer.publicJwk, signer.alg));
    return { verified: true, signerJwk: signer.publicJwk };
  } catch {
    return { verified: false };
  }
}

async function es256Signer(privateJwk) {
  const key = await importJWK(privateJwk, ES256);
  return async (input) => {
    const sig = await webcrypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, new TextEncoder().encode(input));
    return b64url(new Uint8Array(sig));
  };
}

// The verifier: the oid4vp_peer.mjs verifier (Openid4vpVerifier), run as a child.
function startVerifier(config) {
  const child = spawn(process.execPath, [join(HERE, "oid4vp_peer.mjs")], { stdio: ["pipe", "pipe", "inherit"] });
  child.stdin.write(
    `${JSON.stringify({
      op: "verifier",
      clientId: "x509_san_dns:localhost",
      signingJwk: config.verifierJwk,
      x5c: config.verifierX5c,
      issuerAnchorsPem: config.anchorsPem,
      allowInsecureUrls: true,
    })}\n`,
  );
  process.on("exit", () => child.kill());
  for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
  return new Promise((done, fail) => {
    let buffer = "";
    child.stdout.on("data", (chunk) => {
      buffer += chunk.toString("utf8");
      const newline = buffer.indexOf("\n");
      if (newline >= 0) done(JSON.parse(buffer.slice(0, newline)).base);
    });
    child.on("exit", (code) => fail(new Error(`verifier exited with ${code}`)));
  });
}

async function main() {
  const config = JSON.parse(await readFirstLine());
  setGlobalConfig({ allowInsecureUrls: true });
  const quirks = new Set(config.quirks ?? []);
  const verifierBase = await startVerifier(config);
  const sdjwt = new SDJwtVcInstance({
    hasher: digest,
    hashAlg: "sha-256",
    saltGenerator: () => random(16),
    signer: await es256Signer(config.issuerJwk),
    signAlg: ES256,
  });
  const callbacks = { hash, generateRandom: (n) => new Uint8Array(randomBytes(n)), verifyJwt, signJwt: async () => { throw new Error("not used"); } };
  const issuer = new Openid4vciIssuer({ callbacks });
  const as = new Oauth2AuthorizationServer({ callbacks });

  const offers = new Map(); // offer id → credential offer
  const codes = new Map(); // pre-authorized code → {persona, pin}
  const tokens = new Map(); // access token → persona
  const nonces = new Set();
  let base = "";
  let credentialIssuer, authorizationServer;

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, base);
      const path = url.pathname;
      const admin = path.startsWith("/admin/");
      if (admin && req.headers["x-acme-key"] !== config.apiKey) return send(res, 401, { message: "bad api key" });
      if (req.method === "GET" && path === "/.well-known/openid-credential-issuer") return send(res, 200, credentialIssuer);
      if (req.method === "GET" && path === "/.well-known/oauth-authorization-server") return send(res, 200, authorizationServer);
      const metadata = {
        originalDraftVersion: "v1",
        credentialIssuer,
        authorizationServers: [authorizationServer],
        knownCredentialConfigurations: issuer.getKnownCredentialConfigurationsSupported(credentialIssuer),
      };

      if (req.method === "POST" && path === "/admin/v1/issuance") {
        const body = JSON.parse(await readBody(req));
        const persona = body.holder?.name;
        if (!PERSONAS[persona] || body.template !== CONFIGURATION) return send(res, 422, { message: "unknown template or holder" });
        const code = random(24);
        const pin = body.requirePin ? String(randomInt(0, 1_000_000)).padStart(6, "0") : null;
        codes.set(code, { persona, pin });
        const id = random(9);
        const offerUri = `${base}/offers/${id}`;
        const created = await issuer.createCredentialOffer({
          issuerMetadata: metadata,
          credentialConfigurationIds: [CONFIGURATION],
          grants: {
            "urn:ietf:params:oauth:grant-type:pre-authorized_code": {
              "pre-authorized_code": code,
              ...(pin ? { tx_code: { input_mode: "numeric", length: 6 } } : {}),
            },
          },
          credentialOfferUri: offerUri,
          credentialOfferScheme: "openid-credential-offer://",
        });
        offers.set(id, created.credentialOfferObject);
        return send(res, 201, { data: { offerLink: created.credentialOffer, pin } });
      }
      if (req.method === "GET" && path.startsWith("/offers/")) {
        const offer = offers.get(path.slice("/offers/".length));
        return offer ? send(res, 200, offer) : send(res, 404, { message: "no such offer" });
      }
      if (req.method === "POST" && path === "/token") {
        const form = Object.fromEntries(new URLSearchParams(await readBody(req)));
        const request = { method: "POST", url: `${base}/token`, headers: new Headers(req.headers) };
        let parsed;
        try {
          parsed = as.parseAccessTokenRequest({ request, accessTokenRequest: form });
        } catch (err) {
          return send(res, 400, err?.errorResponse ?? { error: "invalid_request" });
        }
        const entry = codes.get(parsed.grant?.preAuthorizedCode);
        if (!entry) return send(res, 400, { error: "invalid_grant" });
        try {
          await as.verifyPreAuthorizedCodeAccessTokenRequest({
            authorizationServerMetadata: authorizationServer,
            grant: parsed.grant,
            accessTokenRequest: parsed.accessTokenRequest,
            request,
            expectedPreAuthorizedCode: parsed.grant.preAuthorizedCode,
            expectedTxCode: entry.pin ?? undefined,
          });
        } catch (err) {
          return send(res, 400, { error: err?.errorResponse?.error ?? "invalid_grant" });
        }
        codes.delete(parsed.grant.preAuthorizedCode);
        const token = random(24);
        tokens.set(token, entry.persona);
        return send(res, 200, { access_token: token, token_type: "Bearer", expires_in: 300 });
      }
      if (req.method === "POST" && path === "/nonce") {
        const nonce = random(24);
        nonces.add(nonce);
        return send(res, 200, issuer.createNonceResponse({ cNonce: nonce }));
      }
      if (req.method === "POST" && path === "/credential") {
        const token = (req.headers.authorization ?? "").replace(/^Bearer\s+/i, "");
        const persona = tokens.get(token);
        if (!persona) return send(res, 401, { error: "invalid_token" }, { "WWW-Authenticate": 'Bearer error="invalid_token"' });
        let request;
        try {
          request = issuer.parseCredentialRequest({ issuerMetadata: metadata, credentialRequest: JSON.parse(await readBody(req)) });
        } catch (err) {
          return send(res, 400, { error: "invalid_credential_request", error_description: String(err?.message ?? err).slice(0, 300) });
        }
        if (request.credentialConfigurationId !== CONFIGURATION) return send(res, 400, { error: "unknown_credential_configuration" });
        const jwts = request.proofs?.jwt ?? [];
        if (jwts.length === 0) return send(res, 400, { error: "invalid_proof" });
        const credentials = [];
        for (const jwt of jwts) {
          const nonce = decodePart(jwt, 1).nonce;
          if (!quirks.has("ignore-nonce")) {
            if (typeof nonce !== "string" || !nonces.has(nonce)) return send(res, 400, { error: "invalid_nonce" });
          }
          let verified;
          try {
            verified = await issuer.verifyCredentialRequestJwtProof({
              issuerMetadata: metadata,
              jwt,
              expectedNonce: quirks.has("ignore-nonce") ? undefined : nonce,
            });
          } catch {
            return send(res, 400, { error: "invalid_proof" });
          }
          const now = Math.floor(Date.now() / 1000);
          credentials.push({
            credential: await sdjwt.issue(
              { iss: base, vct: VCT, iat: now, exp: now + 86400, cnf: { jwk: verified.signer.publicJwk }, ...PERSONAS[persona] },
              { _sd: ["given_name", "family_name", "member_id"] },
              { header: { typ: "dc+sd-jwt", x5c: config.issuerX5c } },
            ),
          });
        }
        if (!quirks.has("ignore-nonce")) for (const jwt of jwts) nonces.delete(decodePart(jwt, 1).nonce);
        return send(res, 200, issuer.createCredentialResponse({ credentialRequest: request, credentials }));
      }
      if (req.method === "POST" && path === "/admin/v1/verification") {
        const body = JSON.parse(await readBody(req));
        const answer = await fetch(`${verifierBase}/transactions`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ dcql_query: body.dcql, response_mode: body.mode ?? "direct_post" }),
        });
        const created = await answer.json();
        return send(res, 201, { data: { ref: created.transaction_id, walletUrl: created.request_url } });
      }
      if (req.method === "GET" && path.startsWith("/admin/v1/verification/")) {
        const ref = path.slice("/admin/v1/verification/".length);
        const answer = await fetch(`${verifierBase}/transactions/${ref}`);
        if (answer.status !== 200) return send(res, 404, { message: "no such verification" });
        const t = await answer.json();
        const status = t.state === "verified" ? "succeeded" : t.state === "failed" ? "rejected" : "pending";
        return send(res, 200, { data: { status, problem: t.result?.error ?? null } });
      }
      return send(res, 404, { message: "not found" });
    } catch (err) {
      return send(res, 500, { message: err instanceof Error ? err.message : String(err) });
    }
  });
  await new Promise((done) => server.listen(0, "127.0.0.1", done));
  base = `http://localhost:${server.address().port}`;
  authorizationServer = as.createAuthorizationServerMetadata({
    issuer: base,
    token_endpoint: `${base}/token`,
    grant_types_supported: ["urn:ietf:params:oauth:grant-type:pre-authorized_code"],
    "pre-authorized_grant_anonymous_access_supported": true,
  });
  credentialIssuer = issuer.createCredentialIssuerMetadata({
    credential_issuer: base,
    credential_endpoint: `${base}/credential`,
    nonce_endpoint: `${base}/nonce`,
    credential_configurations_supported: {
      [CONFIGURATION]: {
        format: "dc+sd-jwt",
        vct: VCT,
        cryptographic_binding_methods_supported: ["jwk"],
        credential_signing_alg_values_supported: [ES256],
        proof_types_supported: { jwt: { proof_signing_alg_values_supported: [ES256] } },
      },
    },
  });
  process.stdout.write(`${JSON.stringify({ base, verifier: verifierBase })}\n`);
}

await main();
