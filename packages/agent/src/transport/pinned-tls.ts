import { createHash, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import tls, { type DetailedPeerCertificate } from "node:tls";

/** The oldest protocol the agent speaks: anything older is refused before a byte is sent. */
export const MIN_TLS_VERSION = "TLSv1.2";

/** Base64 SHA-256 of a certificate's SubjectPublicKeyInfo: the pin the server prints at start. */
export function spkiPin(certificate: X509Certificate): string {
  return createHash("sha256")
    .update(certificate.publicKey.export({ type: "spki", format: "der" }))
    .digest("base64");
}

export class PinnedTlsError extends Error {
  override name = "PinnedTlsError";
}

function pem(der: Buffer): string {
  const body = der.toString("base64").replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN CERTIFICATE-----\n${body}-----END CERTIFICATE-----\n`;
}

/** The presented chain, leaf first, as the server sent it. */
function chainOf(leaf: DetailedPeerCertificate): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  let current: DetailedPeerCertificate | undefined = leaf;
  while (current?.raw && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    chain.push(new X509Certificate(current.raw));
    current = current.issuerCertificate;
  }
  return chain;
}

/**
 * First contact with only a pin (`sha256/<base64>` of the root's public key): connects without
 * trusting anything, finds the certificate in the presented chain whose key has that pin, checks
 * that it signed the chain down to the leaf, that the leaf names the host and that every
 * certificate is in date — and only then returns that root, which the agent trusts from now on
 * (and nothing else). No request is sent on this connection.
 */
export async function fetchPinnedRoot(url: URL, pin: string, timeoutMs = 15_000): Promise<string> {
  const wanted = pin.replace(/^sha256\//, "");
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const socket = tls.connect({
    host,
    port: Number(url.port || 443),
    servername: isIP(host) ? undefined : host,
    minVersion: MIN_TLS_VERSION,
    // Trust is decided below, by the pin; this connection carries no data.
    rejectUnauthorized: false,
    timeout: timeoutMs,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", resolve);
      socket.once("error", reject);
      socket.once("timeout", () =>
        reject(new PinnedTlsError(`no TLS handshake with ${url.host} within ${timeoutMs} ms`)),
      );
    });
    const chain = chainOf(socket.getPeerCertificate(true));
    const rootIndex = chain.findIndex((c) => spkiPin(c) === wanted);
    if (rootIndex < 0) {
      throw new PinnedTlsError(
        `the server's certificate chain has no certificate with the pinned key sha256/${wanted}`,
      );
    }
    const now = Date.now();
    for (let i = 0; i <= rootIndex; i++) {
      const cert = chain[i] as X509Certificate;
      if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) {
        throw new PinnedTlsError(
          `certificate ${cert.subject} is not valid now (${cert.validFrom} – ${cert.validTo})`,
        );
      }
      const issuer = chain[Math.min(i + 1, rootIndex)] as X509Certificate;
      if (!cert.verify(issuer.publicKey))
        throw new PinnedTlsError(`certificate ${cert.subject} is not signed by ${issuer.subject}`);
    }
    const leaf = chain[0] as X509Certificate;
    const nameOk = isIP(host) ? leaf.checkIP(host) : leaf.checkHost(host);
    if (!nameOk) throw new PinnedTlsError(`the server's certificate does not name ${host}`);
    return pem((chain[rootIndex] as X509Certificate).raw);
  } finally {
    socket.destroy();
  }
}
