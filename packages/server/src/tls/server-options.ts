import type { ServerOptions } from "node:https";
import type { TlsMaterial } from "./certificate-authority.js";

/** Sent on every HTTPS response; a year is the minimum the HSTS preload list accepts. */
export const HSTS_MAX_AGE_SECONDS = 31_536_000;
export const HSTS_HEADER_VALUE = `max-age=${HSTS_MAX_AGE_SECONDS}`;

// Node splits this string: TLS_* names become the TLS 1.3 suites, the rest the TLS 1.2 list. Omitting the
// TLS_* names would switch TLS 1.3 off entirely, so OpenSSL's default 1.3 suites are spelled out.
const TLS13_SUITES = ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256"];

// Forward-secret AEAD suites only: no CBC (Lucky13/padding oracles), 3DES (Sweet32), RC4, NULL, export or
// anonymous. RSA variants stay so an operator's RSA certificate still handshakes.
const TLS12_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
];

export function httpsServerOptions(material: TlsMaterial): ServerOptions {
  return {
    cert: material.cert,
    key: material.key,
    minVersion: "TLSv1.2",
    maxVersion: "TLSv1.3",
    ciphers: [...TLS13_SUITES, ...TLS12_CIPHERS].join(":"),
    // Our order is AEAD-only and strongest-first, so it beats whatever a legacy client prefers.
    honorCipherOrder: true,
    ecdhCurve: "X25519:P-256:P-384",
  };
}
