#!/usr/bin/env node
// Interop peer: verify a compact JWS with the npm `jose` library (panva/jose), nobody
// here wrote it. Used to show that an ordinary JOSE library accepts our LoTE JWS
// (compact JAdES baseline B: no `crit`, nothing it would refuse).
//
// Protocol: one JSON object on stdin, one JSON line on stdout.
//   {"token": "<compact JWS>", "x5cLeafPem": "-----BEGIN CERTIFICATE-----..."}
//   {"token": "<compact JWS>", "jwk": {public JWK}}
//   optional "algorithms": ["ES256"] (default ["ES256"])
// -> {"header": {...protected header...}, "payload": <payload parsed as JSON>} exit 0
// -> {"error": "<message>"} exit 1 on any failure (bad request, bad signature, ...).
//
// Only the signature is checked here: `jose` knows nothing of certificate paths, so
// the caller gives the key (the x5c leaf, or a JWK) it wants the signature checked with.

import { compactVerify, importJWK, importX509 } from "jose";

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

async function main() {
  const request = JSON.parse(await readStdin());
  if (request === null || typeof request !== "object" || typeof request.token !== "string") {
    throw new Error('harness: "token" must be a string');
  }
  const algorithms = request.algorithms ?? ["ES256"];
  if (!Array.isArray(algorithms) || algorithms.length !== 1) {
    throw new Error('harness: "algorithms" must name exactly one algorithm');
  }
  let key;
  if (typeof request.x5cLeafPem === "string") {
    key = await importX509(request.x5cLeafPem, algorithms[0]);
  } else if (request.jwk !== null && typeof request.jwk === "object") {
    key = await importJWK(request.jwk, algorithms[0]);
  } else {
    throw new Error('harness: give "x5cLeafPem" or "jwk"');
  }
  const { payload, protectedHeader } = await compactVerify(request.token, key, { algorithms });
  const text = new TextDecoder("utf-8", { fatal: true }).decode(payload);
  process.stdout.write(JSON.stringify({ header: protectedHeader, payload: JSON.parse(text) }) + "\n");
}

main().catch((error) => {
  process.stdout.write(JSON.stringify({ error: String(error?.message ?? error) }) + "\n");
  process.exitCode = 1;
});
