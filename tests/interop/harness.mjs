// What every node interop peer here needs around its library: checking the JSON request,
// the public part of a JWK, and the hash and randomness callbacks the libraries take.
// Each peer reads one JSON request on stdin and writes one JSON answer on stdout;
// messages starting with "harness:" come from this wrapper code, never from a library.

import { createHash, randomBytes } from "node:crypto";

export function requireObject(value, name) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`harness: "${name}" must be a JSON object`);
  }
  return value;
}

export function requireString(value, name) {
  if (typeof value !== "string" || value.length === 0) {
    throw new Error(`harness: "${name}" must be a non-empty string`);
  }
  return value;
}

export function publicPart(jwk) {
  const { kty, crv, x, y } = jwk;
  return { kty, crv, x, y };
}

const HASHES = { "sha-256": "sha256", "sha-384": "sha384", "sha-512": "sha512" };

export function hash(data, alg) {
  const name = HASHES[alg];
  if (!name) throw new Error(`harness: unsupported hash algorithm ${alg}`);
  return new Uint8Array(createHash(name).update(data).digest());
}

export function generateRandom(byteLength) {
  return new Uint8Array(randomBytes(byteLength));
}

export async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}
