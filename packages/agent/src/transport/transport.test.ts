import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTlsMaterial, type TlsMaterial } from "../../../server/src/tls/certificate-authority.js";
import { AgentClient, UnreachableError } from "./client.js";
import { fetchPinnedRoot, PinnedTlsError } from "./pinned-tls.js";

// Two PatchPilot installations, each with its own root CA: the agent must trust only the one it was given.
let dir: string;
let ours: TlsMaterial;
let theirs: TlsMaterial;
const servers: Server[] = [];

async function serve(
  material: TlsMaterial,
  tls: {
    minVersion?: "TLSv1" | "TLSv1.1" | "TLSv1.2";
    maxVersion?: "TLSv1.1" | "TLSv1.3";
    ciphers?: string;
  } = {},
  host = "127.0.0.1",
) {
  const server = createServer({ cert: material.cert, key: material.key, ...tls }, (_req, res) => {
    res.setHeader("content-type", "application/json");
    res.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  servers.push(server);
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no address");
  return new URL(`https://${host === "127.0.0.1" ? "localhost" : host}:${address.port}`);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "pp-transport-"));
  ours = await ensureTlsMaterial({ tlsDir: path.join(dir, "ours"), hostnames: ["localhost"] });
  theirs = await ensureTlsMaterial({ tlsDir: path.join(dir, "theirs"), hostnames: ["localhost"] });
});
afterAll(async () => {
  for (const s of servers) s.close();
  await rm(dir, { recursive: true, force: true });
});

describe("the agent's TLS", () => {
  it("accepts the server whose certificate comes from its pinned root", async () => {
    const client = new AgentClient({ serverUrl: await serve(ours), caPem: ours.caCert ?? "" });
    try {
      await expect(client.send("GET", "/")).resolves.toEqual({ ok: true });
    } finally {
      client.close();
    }
  });

  // An attacker with a certificate from any other CA — including one the OS trusts — is refused.
  it("refuses a server with a certificate from another CA", async () => {
    const client = new AgentClient({ serverUrl: await serve(theirs), caPem: ours.caCert ?? "" });
    try {
      await expect(client.send("GET", "/")).rejects.toThrow(/not from the PatchPilot CA this agent trusts/);
    } finally {
      client.close();
    }
  });

  // A man in the middle who forces TLS 1.1 (or a misconfigured server) gets no connection.
  it("refuses a downgrade to TLS 1.1", async () => {
    const url = await serve(ours, {
      minVersion: "TLSv1",
      maxVersion: "TLSv1.1",
      ciphers: "DEFAULT@SECLEVEL=0",
    });
    const client = new AgentClient({ serverUrl: url, caPem: ours.caCert ?? "" });
    try {
      const error = await client.send("GET", "/").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnreachableError);
      expect(String(error)).toMatch(/TLS older than 1\.2|protocol/i);
    } finally {
      client.close();
    }
  });

  it("learns the root from a pin only when the presented chain really ends in the pinned key", async () => {
    const url = await serve(ours);
    expect(await fetchPinnedRoot(url, `sha256/${ours.caSpkiSha256}`)).toBe(ours.caCert);
    await expect(fetchPinnedRoot(url, `sha256/${theirs.caSpkiSha256}`)).rejects.toBeInstanceOf(
      PinnedTlsError,
    );
    // The right pin, but the certificate does not name the address connected to: refused too.
    const elsewhere = await serve(ours, {}, "127.0.0.2");
    await expect(fetchPinnedRoot(elsewhere, `sha256/${ours.caSpkiSha256}`)).rejects.toThrow(
      /does not name 127.0.0.2/,
    );
  });

  it("refuses a pinned first contact over TLS 1.1", async () => {
    const url = await serve(ours, {
      minVersion: "TLSv1",
      maxVersion: "TLSv1.1",
      ciphers: "DEFAULT@SECLEVEL=0",
    });
    await expect(fetchPinnedRoot(url, `sha256/${ours.caSpkiSha256}`)).rejects.toThrow(/protocol|version/i);
  });
});
