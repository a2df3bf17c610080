import type { Config } from "../config/config.js";

/**
 * RFC 9116. Expires must be under a year ahead; a running server keeps it fresh, and an
 * instance that is no longer running publishes nothing stale.
 */
export function securityTxt(config: Config, now = new Date()): string {
  const expires = new Date(now.getTime() + 180 * 24 * 3600 * 1000);
  expires.setUTCHours(0, 0, 0, 0);
  return [
    `Contact: ${config.securityContact}`,
    `Expires: ${expires.toISOString()}`,
    "Preferred-Languages: en",
    `Canonical: ${new URL("/.well-known/security.txt", config.publicUrl).toString()}`,
    "",
  ].join("\n");
}
