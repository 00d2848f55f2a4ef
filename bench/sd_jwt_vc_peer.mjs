// Times @sd-jwt/sd-jwt-vc (an implementation nobody here wrote) verifying the very bytes
// the Python bench verifies: an SD-JWT VC + KB-JWT, its status list from a map (no
// network), with the library's defaults. Also times its own floor, two WebCrypto ES256
// verifications of the same signing inputs.
//
// stdin:  {"token", "issuerJwk", "nonce", "statusLists": {uri: token}, "iterations",
//          "currentDate"}
// stdout: {"per_call_s", "floor_per_call_s", "claims"}
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { webcrypto } from "node:crypto";

const here = dirname(fileURLToPath(import.meta.url));
// The npm peers are installed once, for the interop tests (./scripts/setup);
// BENCH_NODE_PEERS names another such directory (bench/run's "before" tree has none).
const peerDir = process.env.BENCH_NODE_PEERS ?? join(here, "..", "tests", "interop");
const peers = createRequire(join(peerDir, "package.json"));
const load = async (name) => import(pathToFileURL(peers.resolve(name)).href);
const { SDJwtVcInstance } = await load("@sd-jwt/sd-jwt-vc");
const { digest } = await load("@sd-jwt/crypto-nodejs");
const { compactVerify, importJWK } = await load("jose");

const ES256 = "ES256";

async function es256Verifier(jwk) {
  const { d: _ignored, ...pub } = jwk;
  const key = await importJWK(pub, ES256);
  return async (signingInput, signature) => {
    try {
      await compactVerify(`${signingInput}.${signature}`, key, { algorithms: [ES256] });
      return true;
    } catch {
      return false;
    }
  };
}

async function kbVerifier(signingInput, signature, payload) {
  return (await es256Verifier(payload.cnf.jwk))(signingInput, signature);
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const verifier = await es256Verifier(request.issuerJwk);
const sdjwt = new SDJwtVcInstance({
  hasher: digest,
  hashAlg: "sha-256",
  verifier,
  kbVerifier,
  statusVerifier: verifier,
  statusListFetcher: async (uri) => request.statusLists[uri],
  loadTypeMetadataFormat: false,
});
const options = { keyBindingNonce: request.nonce, currentDate: request.currentDate };

const first = await sdjwt.verify(request.token, options);
const iterations = request.iterations;
let started = process.hrtime.bigint();
for (let i = 0; i < iterations; i++) {
  await sdjwt.verify(request.token, options);
}
const perCall = Number(process.hrtime.bigint() - started) / 1e9 / iterations;

// The floor in this runtime: the two signatures, keys imported beforehand.
const parts = request.token.split("~");
const jwts = [parts[0], parts[parts.length - 1]];
const keys = [
  await webcrypto.subtle.importKey("jwk", { ...request.issuerJwk, d: undefined }, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]),
  await webcrypto.subtle.importKey("jwk", first.payload.cnf.jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]),
];
const inputs = jwts.map((jwt) => {
  const [h, p, s] = jwt.split(".");
  return [new TextEncoder().encode(`${h}.${p}`), Buffer.from(s, "base64url")];
});
started = process.hrtime.bigint();
for (let i = 0; i < iterations; i++) {
  for (let j = 0; j < 2; j++) {
    const ok = await webcrypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, keys[j], inputs[j][1], inputs[j][0]);
    if (!ok) throw new Error("floor: a signature did not verify");
  }
}
const floor = Number(process.hrtime.bigint() - started) / 1e9 / iterations;
process.stdout.write(JSON.stringify({ per_call_s: perCall, floor_per_call_s: floor, claims: Object.keys(first.payload) }));
