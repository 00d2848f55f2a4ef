#!/usr/bin/env node
// OpenID4VP 1.0 from both sides with the OpenWallet Foundation @openid4vc/openid4vp
// (with @openid4vc/oauth2 underneath), the `dcql` library for DCQL, and @sd-jwt/sd-jwt-vc
// for the SD-JWT VC presentations and their KB-JWTs. Driven from a test.
//
// Two modes, chosen by "op" in the first JSON object read on stdin:
//
//   {"op": "wallet", ...}   one request, one JSON answer (one line) on stdout, then exit.
//                           On failure {"error": "<message>", "errorType", "oauthError"?}
//                           and exit code 1.
//   {"op": "verifier", ...} a long-running HTTP verifier (node:http). It prints one line
//                           {"listening": <port>, "base": "http://localhost:<port>"} and
//                           serves until it is killed. Send the config as ONE line.
//
// Messages starting with "harness:" come from this wrapper, the others from the
// libraries. The harness adds only what the library leaves to its caller by design
// (its callbacks: X.509 path validation for the request object signer, JWE, hashing)
// and checks the library says it does not do (named in each place).
//
// --- wallet ------------------------------------------------------------------------------
//   {"op": "wallet", "request": "<openid4vp:// or haip-vp:// URL>",
//    "credentials": [{"token": "<issued SD-JWT VC>", "holderJwk": {private P-256 JWK}}],
//    "trustAnchorsPem": ["-----BEGIN CERTIFICATE-----..."],   // roots for the request signer
//    "allowInsecureUrls": true|false,
//    "encValues": ["A256GCM", ...]}   // optional: the wallet's enc values, preferred first
//   → {"status", "body", "responseMode", "clientId", "clientPrefix", "effectiveClientId",
//      "requestObject": {"header", "payload"}, "presented": {query_id: [{"vct", "claims", "kb"}]},
//      "vpToken": {query_id: ["<presentation>"]}, "jwe": {"header"} | null}
//   The answer is given whatever HTTP status the verifier returns; the test reads "status".
//
// --- verifier ----------------------------------------------------------------------------
//   {"op": "verifier", "clientId": "x509_san_dns:localhost", "signingJwk": {private},
//    "x5c": ["<base64 DER leaf>", ...], "issuerAnchorsPem": [...], "allowInsecureUrls": true,
//    "requestObjectAud": "https://self-issued.me/v2" | null (null: the library's default)}
//   POST /transactions {"dcql_query", "response_mode"} → {"transaction_id", "request_url",
//        "request_uri", "client_id"}
//   GET|POST /request/<id>   the signed request object (oauth-authz-req+jwt)
//   POST /response/<id>      the response_uri
//   GET  /transactions/<id>  {"state": "created"|"fetched"|"verified"|"failed", "result"}

import { randomBytes, webcrypto, X509Certificate } from "node:crypto";
import { createServer } from "node:http";
import { setGlobalConfig } from "@openid4vc/oauth2";
import { Openid4vpClient, Openid4vpVerifier } from "@openid4vc/openid4vp";
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { digest } from "@sd-jwt/crypto-nodejs";
import { decodeSdJwt, getClaims } from "@sd-jwt/decode";
import { DcqlPresentationResult, DcqlQuery } from "dcql";
import {
  CompactEncrypt,
  compactDecrypt,
  compactVerify,
  exportJWK,
  generateKeyPair,
  importJWK,
  importX509,
  CompactSign,
} from "jose";
import { hash, publicPart, requireObject, requireString } from "./harness.mjs";

const ES256 = "ES256";
const STATIC_AUDIENCE = "https://self-issued.me/v2";
const SKEW_SECONDS = 60;

// --- small helpers -----------------------------------------------------------------------

function requireArray(value, name) {
  if (!Array.isArray(value) || value.length === 0) {
    throw new Error(`harness: "${name}" must be a non-empty array`);
  }
  return value;
}

function b64url(bytes) {
  return Buffer.from(bytes).toString("base64url");
}

function random(n) {
  return b64url(randomBytes(n));
}

function decodeJwtPart(compact) {
  const [header, payload] = compact.split(".");
  return {
    header: JSON.parse(Buffer.from(header, "base64url").toString("utf8")),
    payload: JSON.parse(Buffer.from(payload, "base64url").toString("utf8")),
  };
}

function checkP256Private(jwk, name) {
  requireObject(jwk, name);
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || typeof jwk.d !== "string") {
    throw new Error(`harness: "${name}" must be a private EC P-256 JWK (only ES256 is wired up)`);
  }
  return jwk;
}

async function es256Signer(privateJwk) {
  const key = await importJWK(privateJwk, ES256);
  // WebCrypto ECDSA yields the JWS signature form (IEEE P1363 r||s) directly.
  return async (signingInput) => {
    const signature = await webcrypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, new TextEncoder().encode(signingInput));
    return b64url(new Uint8Array(signature));
  };
}

function es256VerifierFor(publicJwk) {
  return async (signingInput, signature) => {
    const key = await importJWK(publicPart(publicJwk), ES256);
    try {
      await compactVerify(`${signingInput}.${signature}`, key, { algorithms: [ES256] });
      return true;
    } catch {
      return false;
    }
  };
}

// --- X.509: the path validation the library leaves to its callbacks ---------------------

function pemOrDer(value) {
  return value.includes("BEGIN CERTIFICATE") ? new X509Certificate(value) : new X509Certificate(Buffer.from(value, "base64"));
}

function sanNames(cert, kind) {
  // Node renders subjectAltName as "DNS:a, DNS:b, URI:c".
  return (cert.subjectAltName ?? "")
    .split(", ")
    .filter((entry) => entry.startsWith(`${kind}:`))
    .map((entry) => entry.slice(kind.length + 1));
}

// x5c leaf first, each certificate signed by the next, the last one signed by one of
// the anchors (an anchor may also be sent as the last member); every certificate
// inside its validity period. RFC 5280 path validation in full is more than this
// (constraints, policies), but this is what decides trust in the test.
function verifyChain(x5c, anchorsPem, now = new Date()) {
  const chain = x5c.map((der) => new X509Certificate(Buffer.from(der, "base64")));
  const anchors = anchorsPem.map((pem) => new X509Certificate(pem));
  const within = (cert) => new Date(cert.validFrom) <= now && now <= new Date(cert.validTo);
  for (const cert of chain) {
    if (!within(cert)) throw new Error(`harness: certificate ${cert.subject} is outside its validity period`);
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!chain[i].checkIssued(chain[i + 1]) || !chain[i].verify(chain[i + 1].publicKey)) {
      throw new Error(`harness: x5c[${i}] is not signed by x5c[${i + 1}]`);
    }
  }
  const last = chain[chain.length - 1];
  const trusted = anchors.some(
    (anchor) => anchor.fingerprint256 === last.fingerprint256 || (last.checkIssued(anchor) && last.verify(anchor.publicKey) && within(anchor)),
  );
  if (!trusted) throw new Error("harness: the x5c chain does not end at a trusted anchor");
  return chain[0];
}

async function leafJwk(leaf) {
  const key = await importX509(leaf.toString(), ES256, { extractable: true });
  return exportJWK(key);
}

// --- JWE: ECDH-ES on P-256, as OpenID4VP 1.0 §8.3 and HAIP use -------------------------

async function encryptJwe(encryptor, data) {
  if (encryptor.method !== "jwk") throw new Error(`harness: asked to encrypt with method ${encryptor.method}`);
  const jwk = encryptor.publicJwk;
  const key = await importJWK(publicPart(jwk), encryptor.alg);
  const header = { alg: encryptor.alg, enc: encryptor.enc };
  // §8.3: "If the selected public key contains a kid parameter, the JWE MUST include
  // the same value in the kid JWE Header Parameter".
  if (jwk.kid) header.kid = jwk.kid;
  const parameters = {};
  if (encryptor.apu) parameters.apu = Buffer.from(encryptor.apu, "base64url");
  if (encryptor.apv) parameters.apv = Buffer.from(encryptor.apv, "base64url");
  const jwe = await new CompactEncrypt(new TextEncoder().encode(data))
    .setProtectedHeader(header)
    .setKeyManagementParameters(parameters)
    .encrypt(key);
  return { jwe, encryptionJwk: jwk };
}

function decryptJweWith(privateJwks) {
  return async (jwe, options) => {
    const { kid, alg, enc } = decodeJwtPart(`${jwe.split(".")[0]}.e30`).header;
    const jwk = options?.jwk?.kid ? privateJwks.find((k) => k.kid === options.jwk.kid) : privateJwks.find((k) => k.kid === kid);
    if (!jwk) return { decrypted: false };
    try {
      const key = await importJWK(jwk, "ECDH-ES");
      const { plaintext } = await compactDecrypt(jwe, key, {
        keyManagementAlgorithms: ["ECDH-ES"],
        contentEncryptionAlgorithms: ["A128GCM", "A256GCM"],
      });
      return { decrypted: true, decryptionJwk: publicPart(jwk), payload: new TextDecoder().decode(plaintext), header: { kid, alg, enc } };
    } catch {
      return { decrypted: false };
    }
  };
}

// --- DCQL helpers ------------------------------------------------------------------------

// The dcql library answers with the claim values the query selected; the
// @sd-jwt presentation frame has the same shape with `true` at the leaves.
function frameFrom(selected) {
  if (Array.isArray(selected)) {
    const frame = {};
    selected.forEach((value, index) => {
      if (value !== undefined && value !== null) frame[String(index)] = frameFrom(value);
    });
    return frame;
  }
  if (selected !== null && typeof selected === "object") {
    return Object.fromEntries(Object.entries(selected).map(([name, value]) => [name, frameFrom(value)]));
  }
  return true;
}

function mergeFrames(a, b) {
  if (a === true || b === true) return true;
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in out ? mergeFrames(out[k], v) : v;
  return out;
}

function sdJwtFrame(selected) {
  // @sd-jwt takes `true` for a whole object; a nested frame for parts of it.
  const frame = frameFrom(selected);
  return frame === true ? {} : frame;
}

// --- wallet ------------------------------------------------------------------------------

async function held(credential, index) {
  requireObject(credential, `credentials[${index}]`);
  const token = requireString(credential.token, `credentials[${index}].token`);
  const holderJwk = checkP256Private(credential.holderJwk, `credentials[${index}].holderJwk`);
  const decoded = await decodeSdJwt(token, digest);
  const claims = await getClaims(decoded.jwt.payload, decoded.disclosures, digest);
  return { token, holderJwk, claims };
}

async function opWallet(request) {
  const url = requireString(request.request, "request");
  const anchors = requireArray(request.trustAnchorsPem, "trustAnchorsPem");
  const credentials = await Promise.all(requireArray(request.credentials, "credentials").map(held));

  let requestObject = null;
  const callbacks = {
    fetch: (input, init) => globalThis.fetch(input, init),
    hash,
    generateRandom: (n) => new Uint8Array(randomBytes(n)),
    // The library finds the signer (x5c for x509_* prefixes) and checks the SAN / hash
    // rule; whether the certificate is trusted is the callback's job.
    verifyJwt: async (signer, { compact, header, payload }) => {
      if (signer.method !== "x5c") throw new Error(`harness: request object signer method ${signer.method}; only x5c is wired up`);
      if (header.alg !== ES256) throw new Error(`harness: request object alg ${header.alg}; only ES256 is wired up`);
      const leaf = verifyChain(signer.x5c, anchors);
      const jwk = await leafJwk(leaf);
      const key = await importJWK(jwk, ES256);
      try {
        await compactVerify(compact, key, { algorithms: [ES256] });
      } catch {
        return { verified: false, signerJwk: jwk };
      }
      requestObject = { header, payload };
      return { verified: true, signerJwk: jwk };
    },
    getX509CertificateMetadata: (certificate) => {
      const cert = pemOrDer(certificate);
      return { sanDnsNames: sanNames(cert, "DNS"), sanUriNames: sanNames(cert, "URI") };
    },
    decryptJwe: async () => {
      throw new Error("harness: encrypted request objects are not wired up");
    },
    encryptJwe,
    signJwt: async () => {
      throw new Error("harness: the wallet signs nothing through the library (KB-JWTs come from @sd-jwt)");
    },
  };
  const client = new Openid4vpClient({ callbacks });
  const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: url });
  const resolved = await client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params });
  const payload = resolved.authorizationRequestPayload;
  if (!resolved.jar) throw new Error("harness: the request was not a signed request object");
  if (!resolved.dcql) throw new Error("harness: the request has no dcql_query");

  // DCQL: which credential answers which query, and which claims to disclose.
  const query = DcqlQuery.parse(resolved.dcql.query);
  DcqlQuery.validate(query);
  const candidates = credentials.map((c) => ({
    credential_format: "dc+sd-jwt",
    vct: c.claims.vct,
    claims: c.claims,
    cryptographic_holder_binding: true,
  }));
  const outcome = DcqlQuery.query(query, candidates);
  if (!outcome.can_be_satisfied) throw new Error("harness: the wallet holds nothing that satisfies the DCQL query");

  const clientId = payload.client_id;
  const vpToken = {};
  const presented = {};
  for (const [queryId, match] of Object.entries(outcome.credential_matches)) {
    if (!match.success) continue;
    const chosen = match.valid_credentials[0];
    const credential = credentials[chosen.input_credential_index];
    const frame = chosen.claims.valid_claim_sets
      .filter((set) => set.success)
      .slice(0, 1)
      .map((set) => sdJwtFrame(set.output))
      .reduce(mergeFrames, {});
    const sdjwt = new SDJwtVcInstance({
      hasher: digest,
      hashAlg: "sha-256",
      kbSigner: await es256Signer(credential.holderJwk),
      kbSignAlg: ES256,
    });
    // OpenID4VP 1.0 Appendix B.3.5: the KB-JWT `aud` is the Client Identifier (with
    // its prefix, §5.9.1 "Always Use the Full Client Identifier"), `nonce` the request's.
    const presentation = await sdjwt.present(credential.token, frame, {
      kb: { payload: { iat: Math.floor(Date.now() / 1000), aud: clientId, nonce: payload.nonce } },
    });
    vpToken[queryId] = [presentation];
    const shown = await decodeSdJwt(presentation, digest);
    presented[queryId] = [
      {
        vct: credential.claims.vct,
        claims: await getClaims(shown.jwt.payload, shown.disclosures, digest),
        kb: shown.kbJwt ? { header: shown.kbJwt.header, payload: shown.kbJwt.payload } : null,
      },
    ];
  }

  const encrypted = payload.response_mode === "direct_post.jwt";
  const response = await client.createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: payload,
    authorizationResponsePayload: { vp_token: vpToken },
    jarm: encrypted
      ? {
          encryption: { nonce: random(16) },
          serverMetadata: {
            authorization_encryption_alg_values_supported: ["ECDH-ES"],
            authorization_encryption_enc_values_supported:
              request.encValues === undefined ? ["A128GCM", "A256GCM"] : requireArray(request.encValues, "encValues"),
          },
        }
      : undefined,
  });
  const submitted = await client.submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: payload,
    authorizationResponsePayload: response.authorizationResponsePayload,
    jarm: response.jarm,
  });
  const body = await submitted.response.text();
  return {
    status: submitted.response.status,
    body,
    responseMode: submitted.responseMode,
    clientId,
    clientPrefix: resolved.client.prefix,
    effectiveClientId: resolved.client.effective,
    requestObject,
    presented,
    vpToken,
    jwe: response.jarm ? { header: decodeJwtPart(`${response.jarm.responseJwt.split(".")[0]}.e30`).header } : null,
  };
}

// --- verifier ----------------------------------------------------------------------------

// SD-JWT VC §3.5 / JWT VC Issuer Metadata: `/.well-known/jwt-vc-issuer` goes between the
// host and the path of `iss`.
function issuerMetadataUrl(iss) {
  const url = new URL(iss);
  const path = url.pathname === "/" ? "" : url.pathname;
  return `${url.origin}/.well-known/jwt-vc-issuer${path}`;
}

async function issuerKey(header, payload, anchors) {
  if (Array.isArray(header.x5c)) {
    const leaf = verifyChain(header.x5c, anchors);
    return { jwk: await leafJwk(leaf), method: "x5c" };
  }
  const response = await fetch(issuerMetadataUrl(payload.iss));
  if (!response.ok) throw new Error(`harness: issuer metadata of ${payload.iss} answered ${response.status}`);
  const metadata = await response.json();
  if (metadata.issuer !== payload.iss) throw new Error("harness: issuer metadata names another issuer");
  const keys = metadata.jwks?.keys ?? [];
  const key = keys.find((k) => k.kid === header.kid) ?? (keys.length === 1 && !header.kid ? keys[0] : undefined);
  if (!key) throw new Error(`harness: no key ${header.kid} in the issuer metadata`);
  return { jwk: key, method: "jwt-vc-issuer-metadata" };
}

async function verifyPresentation(presentation, { nonce, clientId, anchors }) {
  if (typeof presentation !== "string") throw new Error("harness: an SD-JWT VC presentation is a string");
  const { header, payload } = decodeJwtPart(presentation.split("~")[0]);
  if (header.typ !== "dc+sd-jwt") throw new Error(`harness: credential typ ${header.typ} is not dc+sd-jwt`);
  const { jwk, method } = await issuerKey(header, payload, anchors);
  const verifier = es256VerifierFor(jwk);
  const sdjwt = new SDJwtVcInstance({
    hasher: digest,
    hashAlg: "sha-256",
    verifier,
    statusVerifier: verifier,
    kbVerifier: async (signingInput, signature, claims) => es256VerifierFor(claims.cnf.jwk)(signingInput, signature),
    loadTypeMetadataFormat: false,
  });
  // The library checks the KB-JWT (typ, signature with cnf.jwk, nonce, sd_hash) only
  // when given the nonce; it never compares `aud`, so the harness does.
  const result = await sdjwt.verify(presentation, { keyBindingNonce: nonce, skewSeconds: SKEW_SECONDS });
  if (!result.kb) throw new Error("harness: the presentation has no KB-JWT");
  if (result.kb.payload.aud !== clientId) {
    throw new Error(`harness: KB-JWT aud ${JSON.stringify(result.kb.payload.aud)} is not the client_id ${clientId}`);
  }
  const iat = result.kb.payload.iat;
  if (typeof iat !== "number" || Math.abs(Date.now() / 1000 - iat) > 300) throw new Error("harness: KB-JWT iat is not recent");
  return { vct: result.payload.vct, iss: result.payload.iss, claims: result.payload, issuerKeyMethod: method, kbAud: result.kb.payload.aud };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res, status, body, type = "application/json") {
  res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
}

async function opVerifier(config) {
  const clientId = requireString(config.clientId, "clientId");
  const signingJwk = checkP256Private(config.signingJwk, "signingJwk");
  const x5c = requireArray(config.x5c, "x5c");
  const anchors = requireArray(config.issuerAnchorsPem, "issuerAnchorsPem");
  const requestObjectAud = config.requestObjectAud === undefined ? STATIC_AUDIENCE : config.requestObjectAud;
  const signingKey = await importJWK(signingJwk, ES256);
  const transactions = new Map();
  const encryptionKeys = [];

  const callbacks = {
    fetch: (input, init) => globalThis.fetch(input, init),
    hash,
    signJwt: async (signer, { header, payload }) => {
      if (signer.method !== "x5c" || header.alg !== ES256) throw new Error("harness: only x5c ES256 request objects are signed here");
      const jwt = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader(header).sign(signingKey);
      return { jwt, signerJwk: publicPart(signingJwk) };
    },
    verifyJwt: async () => {
      throw new Error("harness: signed (JARM) responses are not expected");
    },
    decryptJwe: decryptJweWith(encryptionKeys),
    encryptJwe,
  };
  const verifier = new Openid4vpVerifier({ callbacks });

  let base = "";
  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, base);
      const [, kind, id] = url.pathname.split("/");
      if (req.method === "POST" && url.pathname === "/transactions") {
        const body = JSON.parse(await readBody(req));
        const mode = body.response_mode ?? "direct_post";
        const tid = random(12);
        const clientMetadata = {
          vp_formats_supported: { "dc+sd-jwt": { "sd-jwt_alg_values": [ES256], "kb-jwt_alg_values": [ES256] } },
        };
        if (mode === "direct_post.jwt") {
          const { publicKey, privateKey } = await generateKeyPair("ECDH-ES", { crv: "P-256", extractable: true });
          const kid = `enc-${tid}`;
          encryptionKeys.push({ ...(await exportJWK(privateKey)), kid });
          clientMetadata.jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, use: "enc", alg: "ECDH-ES" }] };
          clientMetadata.encrypted_response_enc_values_supported = ["A128GCM"];
        }
        const requestUri = `${base}/request/${tid}`;
        const created = await verifier.createOpenId4vpAuthorizationRequest({
          authorizationRequestPayload: {
            response_type: "vp_token",
            client_id: clientId,
            response_uri: `${base}/response/${tid}`,
            response_mode: mode,
            nonce: random(16),
            state: random(16),
            dcql_query: body.dcql_query,
            client_metadata: clientMetadata,
          },
          jar: {
            requestUri,
            jwtSigner: { method: "x5c", alg: ES256, x5c },
            expiresInSeconds: 300,
            // The library's default `aud` is the request_uri; OpenID4VP 1.0 §5.8 wants
            // "https://self-issued.me/v2" under static discovery. null keeps the default.
            additionalJwtPayload: requestObjectAud === null ? undefined : { aud: requestObjectAud },
          },
          scheme: "openid4vp://",
        });
        transactions.set(tid, {
          state: "created",
          payload: created.authorizationRequestPayload,
          jwt: created.jar.authorizationRequestJwt,
          result: null,
        });
        return send(res, 201, {
          transaction_id: tid,
          request_url: created.authorizationRequest,
          request_uri: requestUri,
          client_id: clientId,
        });
      }
      if (kind === "request" && (req.method === "GET" || req.method === "POST")) {
        const t = transactions.get(id);
        if (!t) return send(res, 404, { error: "not_found" });
        if (t.state === "created") t.state = "fetched";
        return send(res, 200, t.jwt, "application/oauth-authz-req+jwt");
      }
      if (kind === "response" && req.method === "POST") {
        const t = transactions.get(id);
        if (!t) return send(res, 404, { error: "not_found" });
        if (t.state === "verified" || t.state === "failed") return send(res, 400, { error: "invalid_request", error_description: "already answered" });
        const form = Object.fromEntries(new URLSearchParams(await readBody(req)));
        try {
          const parsed = await verifier.parseOpenid4vpAuthorizationResponse({
            authorizationResponse: form,
            authorizationRequestPayload: t.payload,
            callbacks,
          });
          if (parsed.type !== "dcql") throw new Error(`harness: expected a DCQL response, got ${parsed.type}`);
          const presentations = {};
          const dcqlPresentation = {};
          for (const [queryId, items] of Object.entries(parsed.dcql.presentations)) {
            presentations[queryId] = [];
            dcqlPresentation[queryId] = [];
            for (const item of items) {
              const verified = await verifyPresentation(item, { nonce: parsed.expectedNonce, clientId, anchors });
              presentations[queryId].push(verified);
              dcqlPresentation[queryId].push({
                credential_format: "dc+sd-jwt",
                vct: verified.vct,
                claims: verified.claims,
                cryptographic_holder_binding: true,
              });
            }
          }
          const dcql = DcqlPresentationResult.fromDcqlPresentation(dcqlPresentation, { dcqlQuery: DcqlQuery.parse(t.payload.dcql_query) });
          if (!dcql.can_be_satisfied) throw new Error("harness: the presentations do not satisfy the DCQL query");
          t.state = "verified";
          t.result = {
            presentations,
            jarm: parsed.jarm ? { type: parsed.jarm.type, header: parsed.jarm.jarmHeader } : null,
            state: parsed.authorizationResponsePayload.state ?? null,
          };
          return send(res, 200, {});
        } catch (err) {
          t.state = "failed";
          t.result = { error: err instanceof Error ? err.message : String(err), errorType: err?.constructor?.name ?? typeof err };
          return send(res, 400, { error: "invalid_request", error_description: t.result.error.slice(0, 200) });
        }
      }
      if (kind === "transactions" && req.method === "GET") {
        const t = transactions.get(id);
        if (!t) return send(res, 404, { error: "not_found" });
        return send(res, 200, { state: t.state, result: t.result, request: t.payload });
      }
      return send(res, 404, { error: "not_found" });
    } catch (err) {
      return send(res, 500, { error: "server_error", error_description: err instanceof Error ? err.message : String(err) });
    }
  });
  await new Promise((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address();
  // x509_san_dns:localhost needs the response_uri host to be "localhost" (§5.9.3).
  base = `http://localhost:${port}`;
  process.stdout.write(`${JSON.stringify({ listening: port, base })}\n`);
  await new Promise(() => {});
}

// --- main --------------------------------------------------------------------------------

function describeError(err) {
  const answer = { error: err instanceof Error ? err.message : String(err), errorType: err?.constructor?.name ?? typeof err };
  if (err?.errorResponse?.error) answer.oauthError = err.errorResponse.error;
  if (err?.errorResponse?.error_description) answer.oauthErrorDescription = err.errorResponse.error_description;
  if (err?.cause) answer.cause = err.cause instanceof Error ? err.cause.message : String(err.cause);
  return answer;
}

async function readFirstLine() {
  let buffer = "";
  for await (const chunk of process.stdin) {
    buffer += chunk.toString("utf8");
    const newline = buffer.indexOf("\n");
    if (newline >= 0) return buffer.slice(0, newline);
  }
  return buffer;
}

async function main() {
  let request;
  try {
    request = requireObject(JSON.parse(await readFirstLine()), "request");
    setGlobalConfig({ allowInsecureUrls: request.allowInsecureUrls === true });
    if (request.op === "verifier") {
      await opVerifier(request);
      return;
    }
    if (request.op !== "wallet") throw new Error(`harness: unknown op ${JSON.stringify(request.op)}; expected wallet or verifier`);
    const answer = await opWallet(request);
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify(describeError(err))}\n`);
    process.exitCode = 1;
  }
}

await main();
