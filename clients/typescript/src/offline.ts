/**
 * Offline certificates: what the IDE keeps so it can start without the network. A
 * certificate is an Ed25519-signed JWT (`alg: EdDSA`, `kid` naming the key); the keys are
 * the JWK set from `GET /v1/licenses/public-key`, which the IDE fetches while online and
 * stores beside the certificate.
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from "jose";

/**
 * Verifies `certificate` against `keys` without the server: the signature, the key id and
 * the expiry. Resolves to its claims; rejects a certificate that was tampered with, signed
 * by a key the set does not hold, or expired at `now`.
 */
export async function verifyOfflineCertificate(
  certificate: string,
  keys: JSONWebKeySet,
  now: Date = new Date(),
): Promise<JWTPayload> {
  const { payload } = await jwtVerify(certificate, createLocalJWKSet(keys), {
    algorithms: ["EdDSA"],
    currentDate: now,
  });
  return payload;
}
