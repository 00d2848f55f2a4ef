#!/usr/bin/env node
// An independent OpenID4VCI 1.0 wallet: the OpenWallet Foundation @openid4vc/openid4vci
// client (with @openid4vc/oauth2 underneath), driven from a test.
//
// Protocol: one JSON request on stdin, one JSON answer (one line) on stdout. On any
// failure the answer is {"error": "<message>", ...details} and the exit code is 1.
// Messages starting with "harness:" come from this wrapper, the others from the library.
//
// The harness adds only what a wallet's user interface would: it types the tx_code,
// and it plays the user at the issuer's login page (GET the authorization URL, POST the
// persona form, read the redirect). Every protocol message is built and checked by the
// library.
//
// By default the library runs as its documentation shows a wallet using it: a public
// client, `clientAuthenticationNone` (so `client_id` goes to the token endpoint, in the
// pre-authorized flow too), and `createCredentialRequestJwtProof` without `clientId`
// (so the key proof has no `iss`). Nothing is configured to fit our issuers; the two
// switches below exist only for separately named extra cases.
//
// Ops:
//   {"op": "pre-authorized", "offer": "<openid-credential-offer://... | https://.../offers/x>",
//    "txCode": "123456" | null, "holderJwk": {private P-256 JWK}}
//   {"op": "authorization-code", "offer": ..., "holderJwk": ...,
//    "redirectUri": "http://127.0.0.1/cb", "persona": "<sample id>"}
// Common options: "clientId" (default "passerelle-interop-wallet"), "configurationId"
// (default: the offer's first), "notify" (default true: send credential_accepted to the
// notification endpoint), "deferredTimeoutSeconds" (default 30).
// HAIP (authorization code only): "haip": {"attester": {"jwk" (private), "x5c", "iss"},
// "instanceJwk" (private), "dpopJwk" (private)} makes the library authenticate the
// client with a wallet attestation it creates itself (`createClientAttestationJwt`,
// `clientAuthenticationClientAttestationJwt`: OAuth-Client-Attestation and -PoP at PAR
// and token), bind the tokens with DPoP (the `dpop` options, nonces as the server hands
// them out) and put a key attestation it creates (`createKeyAttestationJwt`) in the key
// proof's header. The answer then adds "haip": {"tokenType", "dpopNonceUsed",
// "keyAttestation"}.
// Extra, non-default cases: "anonymous" (pre-authorized only; default false:
// `clientAuthenticationAnonymous`, no client_id at the token endpoint), "proofIss"
// (default false: the key proof carries `iss` = client_id), "allowInsecureUrls" (default
// false: plain-HTTP issuers are refused, as the library does by default).
// Answer: {"credentials": [...], "configurationId", "notificationId", "notified",
//          "deferred", "transactionId", "credentialIssuer", "draftVersion",
//          "offer", "tokenResponse": {token_type, expires_in}, "proofHeader", "proofPayload",
//          "workarounds": [names of library bugs the harness had to step around],
//          "authorization": {"state", "iss", "pkceMethod", "usedPar"} (auth code only)}

import {
  Oauth2Client,
  Oauth2ClientErrorResponseError,
  clientAuthenticationAnonymous,
  clientAuthenticationClientAttestationJwt,
  clientAuthenticationNone,
  createClientAttestationJwt,
  setGlobalConfig,
} from "@openid4vc/oauth2";
import {
  Openid4vciClient,
  Openid4vciRetrieveCredentialsError,
  Openid4vciSendNotificationError,
  createKeyAttestationJwt,
  determineAuthorizationServerForCredentialOffer,
  extractScopesForCredentialConfigurationIds,
} from "@openid4vc/openid4vci";
import { CompactSign, calculateJwkThumbprint, importJWK } from "jose";
import { generateRandom, hash, publicPart, readStdin, requireObject, requireString } from "./harness.mjs";

const ES256 = "ES256";

// --- request checking --------------------------------------------------------------------

function holderKey(request) {
  const jwk = requireObject(request.holderJwk, "holderJwk");
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || typeof jwk.d !== "string") {
    throw new Error('harness: "holderJwk" must be a private EC P-256 JWK (only ES256 is wired up)');
  }
  return jwk;
}

// --- callbacks ---------------------------------------------------------------------------

// Without "haip" the library only ever asks us to sign key proofs (no DPoP, no client
// attestation): refuse anything but the holder key so a library change cannot make
// the harness sign with a key it was not meant to. With "haip", the DPoP and wallet
// instance keys (method "jwk") and the wallet provider's key (method "x5c") too.
function signJwtWith(holderJwk, haip) {
  const jwkKeys = [holderJwk, ...(haip ? [haip.dpopJwk, haip.instanceJwk] : [])];
  return async (signer, { header, payload }) => {
    if (signer.alg !== ES256) throw new Error(`harness: asked to sign with ${signer.alg}; only ES256 is wired up`);
    let privateJwk;
    if (signer.method === "x5c" && haip) {
      privateJwk = haip.attester.jwk;
    } else if (signer.method === "jwk") {
      const asked = await calculateJwkThumbprint(publicPart(signer.publicJwk));
      for (const candidate of jwkKeys) {
        if ((await calculateJwkThumbprint(publicPart(candidate))) === asked) privateJwk = candidate;
      }
      if (!privateJwk) throw new Error("harness: asked to sign with a key that is not one of the wallet's");
    } else {
      throw new Error(`harness: asked to sign with signer method ${signer.method}; it is not wired up`);
    }
    const key = await importJWK(privateJwk, ES256);
    const jwt = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader(header)
      .sign(key);
    return { jwt, signerJwk: signer.publicJwk };
  };
}

const DEFAULT_CLIENT_ID = "passerelle-interop-wallet";

function clientIdOf(request) {
  return request.clientId === undefined ? DEFAULT_CLIENT_ID : requireString(request.clientId, "clientId");
}

function callbacks({ holderJwk, clientId, anonymous, haip }) {
  return {
    fetch: (input, init) => globalThis.fetch(input, init),
    hash,
    generateRandom,
    signJwt: signJwtWith(holderJwk, haip),
    // The default: a public client (RFC 6749 §2.1), client_id in the body, no secret.
    // `anonymous` is the extra case of OpenID4VCI 1.0 §6.1 ("authentication of the
    // Client is OPTIONAL" for the pre-authorized grant): nothing identifies the client.
    clientAuthentication: anonymous ? clientAuthenticationAnonymous() : clientAuthenticationNone({ clientId }),
  };
}

function decodeJwtPart(compact) {
  const [header, payload] = compact.split(".");
  return {
    header: JSON.parse(Buffer.from(header, "base64url").toString("utf8")),
    payload: JSON.parse(Buffer.from(payload, "base64url").toString("utf8")),
  };
}

// --- shared steps ------------------------------------------------------------------------

async function resolve(client, request) {
  const offer = await client.resolveCredentialOffer(requireString(request.offer, "offer"));
  const issuerMetadata = await client.resolveIssuerMetadata(offer.credential_issuer);
  const configurationId =
    request.configurationId === undefined ? offer.credential_configuration_ids[0] : requireString(request.configurationId, "configurationId");
  if (!offer.credential_configuration_ids.includes(configurationId)) {
    throw new Error(`harness: configuration ${configurationId} is not in the offer`);
  }
  return { offer, issuerMetadata, configurationId };
}

function sleep(ms) {
  return new Promise((done) => setTimeout(done, ms));
}

function flattenCredentials(list) {
  // OpenID4VCI 1.0 §8.3: each entry is {"credential": ...}; the library also admits bare
  // values from earlier drafts, which we report as they came.
  return (list ?? []).map((entry) => (entry && typeof entry === "object" && "credential" in entry ? entry.credential : entry));
}

// @openid4vc/openid4vci 0.4.6 rejects a Deferred Credential Response that carries
// `credentials` together with `notification_id` (its check reads
// `notification_id && credentials` where `notification_id && !credentials` is meant),
// although OpenID4VCI 1.0 §9.2 says the response "MAY use the notification_id
// parameter", and its own example does. Only that one refusal of a 200 response is
// overridden, and the answer says so ("workarounds"), so a test can pin the bug and
// notice when a fixed release no longer needs it.
const DEFERRED_NOTIFICATION_BUG = "'notification_id' MUST NOT be defined when 'credentials' is not defined.";

async function retrieveDeferred(client, options, workarounds) {
  try {
    const { deferredCredentialResponse } = await client.retrieveDeferredCredentials(options);
    return deferredCredentialResponse;
  } catch (err) {
    const result = err instanceof Openid4vciRetrieveCredentialsError ? err.response?.deferredCredentialResponseResult : undefined;
    const issues = result?.error?.issues ?? [];
    const body = err.response?.response ? await err.response.response.clone().json().catch(() => null) : null;
    const onlyTheBug = issues.length === 1 && issues[0].message === DEFERRED_NOTIFICATION_BUG;
    if (err.response?.response?.status === 200 && onlyTheBug && Array.isArray(body?.credentials) && typeof body.notification_id === "string") {
      workarounds.push("deferred-response-notification-id");
      return body;
    }
    throw err;
  }
}

async function obtainCredential(client, { request, issuerMetadata, configurationId, accessToken, clientId, haip, dpop }) {
  const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata });
  let keyAttestationJwt;
  if (haip) {
    // OpenID4VCI 1.0 Appendix D: the wallet provider attests the holder key; with a
    // nonce endpoint its `nonce` is the c_nonce (F.1), and `exp` is needed in a jwt proof.
    const now = new Date();
    keyAttestationJwt = await createKeyAttestationJwt({
      callbacks: { hash, generateRandom, signJwt: signJwtWith(request.holderJwk, haip) },
      signer: { method: "x5c", alg: ES256, x5c: haip.attester.x5c },
      attestedKeys: [publicPart(request.holderJwk)],
      nonce,
      issuedAt: now,
      expiresAt: new Date(now.getTime() + 600 * 1000),
      keyStorage: ["iso_18045_basic"],
      userAuthentication: ["iso_18045_basic"],
      use: "proof_type.jwt",
    });
  }
  // The library's default proof has no `iss`; `proofIss` is the extra case that names
  // the client (OpenID4VCI 1.0 Appendix F.1 allows both for an identified client).
  const { jwt } = await client.createCredentialRequestJwtProof({
    issuerMetadata,
    credentialConfigurationId: configurationId,
    signer: { method: "jwk", alg: ES256, publicJwk: publicPart(request.holderJwk) },
    nonce,
    issuedAt: new Date(),
    ...(request.proofIss === true ? { clientId } : {}),
    ...(keyAttestationJwt ? { keyAttestationJwt } : {}),
  });
  const retrieved = await client.retrieveCredentials({
    issuerMetadata,
    credentialConfigurationId: configurationId,
    proofs: { jwt: [jwt] },
    accessToken,
    ...(dpop ? { dpop } : {}),
  });
  const { credentialResponse } = retrieved;
  if (dpop && retrieved.dpop?.nonce) dpop = { ...dpop, nonce: retrieved.dpop.nonce };

  let credentials = credentialResponse.credentials;
  let notificationId = credentialResponse.notification_id;
  const transactionId = credentialResponse.transaction_id;
  const deferred = transactionId !== undefined;
  const workarounds = [];
  if (deferred) {
    // OpenID4VCI 1.0 §9: poll the deferred endpoint no faster than `interval` asks.
    const limit = Date.now() + 1000 * (typeof request.deferredTimeoutSeconds === "number" ? request.deferredTimeoutSeconds : 30);
    let interval = credentialResponse.interval ?? 1;
    for (;;) {
      if (Date.now() + interval * 1000 > limit) {
        throw new Error(`harness: deferred credential ${transactionId} still pending after the time limit`);
      }
      await sleep(interval * 1000);
      const deferredCredentialResponse = await retrieveDeferred(client, { issuerMetadata, accessToken, transactionId }, workarounds);
      if (deferredCredentialResponse.credentials) {
        credentials = deferredCredentialResponse.credentials;
        notificationId = deferredCredentialResponse.notification_id;
        break;
      }
      interval = deferredCredentialResponse.interval ?? interval;
    }
  }

  let notified = false;
  if (notificationId !== undefined && request.notify !== false) {
    await client.sendNotification({
      issuerMetadata,
      accessToken,
      notification: { notificationId, event: "credential_accepted" },
      ...(dpop ? { dpop } : {}),
    });
    notified = true;
  }
  const proof = decodeJwtPart(jwt);
  return {
    credentials: flattenCredentials(credentials),
    configurationId,
    notificationId: notificationId ?? null,
    notified,
    deferred,
    transactionId: transactionId ?? null,
    credentialIssuer: issuerMetadata.credentialIssuer.credential_issuer,
    draftVersion: issuerMetadata.originalDraftVersion,
    proofHeader: proof.header,
    proofPayload: proof.payload,
    workarounds,
    keyAttestation: keyAttestationJwt !== undefined,
  };
}

function tokenSummary(accessTokenResponse) {
  return { token_type: accessTokenResponse.token_type, expires_in: accessTokenResponse.expires_in ?? null };
}

// --- pre-authorized code flow ------------------------------------------------------------

async function opPreAuthorized(request) {
  holderKey(request);
  const anonymous = request.anonymous === true;
  if (anonymous && request.proofIss === true) {
    throw new Error("harness: an anonymous client has no client_id to put in the proof's iss");
  }
  const clientId = clientIdOf(request);
  const client = new Openid4vciClient({ callbacks: callbacks({ holderJwk: request.holderJwk, clientId, anonymous }) });
  const { offer, issuerMetadata, configurationId } = await resolve(client, request);
  const txCode = request.txCode === null || request.txCode === undefined ? undefined : requireString(request.txCode, "txCode");
  const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer: offer,
    issuerMetadata,
    txCode,
  });
  const result = await obtainCredential(client, {
    request,
    issuerMetadata,
    configurationId,
    accessToken: accessTokenResponse.access_token,
    clientId,
  });
  return { ...result, offer, tokenResponse: tokenSummary(accessTokenResponse), clientId: anonymous ? null : clientId };
}

// --- authorization code flow (PAR + PKCE) ------------------------------------------------

// What a browser and a person would do at the issuer's mock login: open the
// authorization URL, pick the persona, submit. The redirect is read, not followed.
async function mockLogin({ authorizationRequestUrl, persona }) {
  const page = await fetch(authorizationRequestUrl, { redirect: "manual" });
  const html = await page.text();
  if (page.status !== 200) {
    throw new Error(`harness: authorization page answered ${page.status}: ${html.slice(0, 500)}`);
  }
  const url = new URL(authorizationRequestUrl);
  const requestUri = url.searchParams.get("request_uri");
  if (!requestUri) throw new Error("harness: the authorization URL carries no request_uri (PAR was not used)");
  if (!html.includes(persona)) throw new Error(`harness: persona ${persona} is not offered on the login page`);
  const form = new URLSearchParams({ request_uri: requestUri, persona });
  const answer = await fetch(`${url.origin}${url.pathname}`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: form.toString(),
    redirect: "manual",
  });
  const location = answer.headers.get("Location");
  if (answer.status < 300 || answer.status > 399 || !location) {
    throw new Error(`harness: login answered ${answer.status} without a redirect: ${(await answer.text()).slice(0, 500)}`);
  }
  return { location, status: answer.status };
}

async function opAuthorizationCode(request) {
  holderKey(request);
  const clientId = clientIdOf(request);
  const redirectUri = requireString(request.redirectUri, "redirectUri");
  const persona = requireString(request.persona, "persona");
  const haip = request.haip === undefined ? undefined : haipKeys(request.haip);
  const cbs = callbacks({ holderJwk: request.holderJwk, clientId, haip });
  let dpop;
  if (haip) {
    // The wallet attestation, made by the library as the wallet provider would, then
    // presented by its client-attestation authentication at PAR and token.
    const now = new Date();
    const clientAttestationJwt = await createClientAttestationJwt({
      callbacks: cbs,
      signer: { method: "x5c", alg: ES256, x5c: haip.attester.x5c },
      issuer: haip.attester.iss,
      clientId,
      confirmation: { jwk: publicPart(haip.instanceJwk) },
      issuedAt: now,
      expiresAt: new Date(now.getTime() + 3600 * 1000),
    });
    cbs.clientAuthentication = clientAuthenticationClientAttestationJwt({ clientAttestationJwt, callbacks: cbs });
    dpop = { signer: { method: "jwk", alg: ES256, publicJwk: publicPart(haip.dpopJwk) } };
  }
  const client = new Openid4vciClient({ callbacks: cbs });
  const { offer, issuerMetadata, configurationId } = await resolve(client, request);
  const grant = offer.grants?.authorization_code;
  if (!grant) throw new Error("harness: the offer has no authorization_code grant");
  const authorizationServer = determineAuthorizationServerForCredentialOffer({
    issuerMetadata,
    grantAuthorizationServer: grant.authorization_server,
  });
  const authorizationServerMetadata = issuerMetadata.authorizationServers.find((as) => as.issuer === authorizationServer);
  if (!authorizationServerMetadata) throw new Error(`harness: no metadata for authorization server ${authorizationServer}`);
  // OpenID4VCI 1.0 §5.1.2: ask by the configuration's `scope`.
  const scopes = extractScopesForCredentialConfigurationIds({
    credentialConfigurationIds: [configurationId],
    issuerMetadata,
    throwOnConfigurationWithoutScope: true,
  });
  const state = Buffer.from(generateRandom(16)).toString("base64url");
  // Oauth2Client directly rather than Openid4vciClient.createAuthorizationRequestUrlFromOffer:
  // the convenience method drops `state` (0.4.6). The same PAR + PKCE code runs either way.
  const oauth2 = new Oauth2Client({ callbacks: cbs });
  const authorization = await oauth2.createAuthorizationRequestUrl({
    authorizationServerMetadata,
    clientId,
    redirectUri,
    scope: scopes.join(" "),
    state,
    resource: issuerMetadata.credentialIssuer.credential_issuer,
    additionalRequestPayload: grant.issuer_state ? { issuer_state: grant.issuer_state } : {},
    ...(dpop ? { dpop } : {}),
  });
  const { authorizationRequestUrl, pkce } = authorization;
  if (dpop && authorization.dpop?.nonce) dpop = { ...dpop, nonce: authorization.dpop.nonce };
  if (!pkce) {
    throw new Error("harness: the authorization server metadata has no code_challenge_methods_supported, so the library sent no PKCE challenge");
  }
  const { location } = await mockLogin({ authorizationRequestUrl, persona });
  if (!location.startsWith(redirectUri)) throw new Error(`harness: redirected to ${location}, not to ${redirectUri}`);
  const authorizationResponse = client.parseAndVerifyAuthorizationResponseRedirectUrl({
    url: location,
    authorizationServerMetadata,
  });
  if (authorizationResponse.error) {
    throw Object.assign(new Error(`authorization error response: ${authorizationResponse.error}`), {
      oauthError: authorizationResponse.error,
    });
  }
  if (authorizationResponse.state !== state) throw new Error("harness: state in the authorization response does not match");
  const tokens = await client.retrieveAuthorizationCodeAccessTokenFromOffer({
    credentialOffer: offer,
    issuerMetadata,
    authorizationCode: authorizationResponse.code,
    pkceCodeVerifier: pkce.codeVerifier,
    redirectUri,
    ...(dpop ? { dpop } : {}),
  });
  const { accessTokenResponse } = tokens;
  if (dpop && tokens.dpop?.nonce) dpop = { ...dpop, nonce: tokens.dpop.nonce };
  const result = await obtainCredential(client, {
    request,
    issuerMetadata,
    configurationId,
    accessToken: accessTokenResponse.access_token,
    clientId,
    haip,
    dpop,
  });
  return {
    ...result,
    offer,
    tokenResponse: tokenSummary(accessTokenResponse),
    authorization: {
      state: authorizationResponse.state ?? null,
      iss: authorizationResponse.iss ?? null,
      pkceMethod: pkce.codeChallengeMethod,
      usedPar: new URL(authorizationRequestUrl).searchParams.has("request_uri"),
    },
    ...(haip
      ? { haip: { tokenType: accessTokenResponse.token_type, dpopNonceUsed: Boolean(dpop?.nonce), keyAttestation: result.keyAttestation } }
      : {}),
  };
}

function haipKeys(raw) {
  const haip = requireObject(raw, "haip");
  const attester = requireObject(haip.attester, "haip.attester");
  return {
    attester: { jwk: requireObject(attester.jwk, "haip.attester.jwk"), x5c: attester.x5c, iss: requireString(attester.iss, "haip.attester.iss") },
    instanceJwk: requireObject(haip.instanceJwk, "haip.instanceJwk"),
    dpopJwk: requireObject(haip.dpopJwk, "haip.dpopJwk"),
  };
}

// --- main --------------------------------------------------------------------------------

const OPERATIONS = { "pre-authorized": opPreAuthorized, "authorization-code": opAuthorizationCode };

// The library's typed errors carry the server's OAuth error response: surface its
// `error` code so a test can assert on it rather than on message text.
function describeError(err) {
  const answer = { error: err instanceof Error ? err.message : String(err) };
  if (err instanceof Oauth2ClientErrorResponseError) {
    answer.oauthError = err.errorResponse?.error ?? null;
    answer.status = err.response?.status ?? null;
  } else if (err instanceof Openid4vciRetrieveCredentialsError || err instanceof Openid4vciSendNotificationError) {
    const response = err.response ?? {};
    const data = response.credentialErrorResponseResult?.data ?? response.deferredCredentialErrorResponseResult?.data ?? response.notificationErrorResponseResult?.data;
    answer.oauthError = data?.error ?? null;
    answer.status = response.response?.status ?? null;
  } else if (err && typeof err === "object" && "oauthError" in err) {
    answer.oauthError = err.oauthError;
  }
  answer.errorType = err?.constructor?.name ?? typeof err;
  return answer;
}

async function main() {
  let answer;
  try {
    const request = requireObject(JSON.parse(await readStdin()), "request");
    const operation = OPERATIONS[request.op];
    if (!operation) {
      throw new Error(`harness: unknown op ${JSON.stringify(request.op)}; expected one of ${Object.keys(OPERATIONS).join(", ")}`);
    }
    setGlobalConfig({ allowInsecureUrls: request.allowInsecureUrls === true });
    answer = await operation(request);
  } catch (err) {
    process.stdout.write(`${JSON.stringify(describeError(err))}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}

await main();
