import { createHash, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Config } from "../config/config.js";

export interface AgentEnrollmentView {
  serverUrl: string;
  /** `sha256/<base64>` of the root CA's public key, as `patchpilot serve` prints it; null with a given certificate. */
  caPin: string | null;
}

/**
 * What an agent needs besides its token: the address to enrol against and the pin of the
 * server's own root CA (data/tls/ca.crt). With an operator-given certificate there is no CA of
 * ours to pin, and the page says to use that certificate's CA file instead.
 */
export async function agentEnrollment(config: Config, port: number): Promise<AgentEnrollmentView> {
  const base = new URL(config.publicUrl);
  if (config.port === 0 || base.port === "") base.port = String(port);
  let caPin: string | null = null;
  if (!(config.tlsCertFile && config.tlsKeyFile)) {
    const pem = await readFile(path.join(config.dataDir, "tls", "ca.crt"), "utf8").catch(() => null);
    if (pem) {
      const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
      caPin = `sha256/${createHash("sha256").update(spki).digest("base64")}`;
    }
  }
  return { serverUrl: base.origin, caPin };
}
