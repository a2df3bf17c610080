// Must load before @peculiar/x509 (tsyringe needs the Reflect polyfill).
import "reflect-metadata";
import { execFile } from "node:child_process";
import { createHash, createPrivateKey, createPublicKey, randomBytes, X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat, unlink, writeFile } from "node:fs/promises";
import { createServer, request, type Server } from "node:https";
import { type AddressInfo, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requirePeer } from "../testing/peers.js";
import { ensureTlsMaterial, type TlsMaterial } from "./certificate-authority.js";
import { HSTS_HEADER_VALUE, httpsServerOptions } from "./server-options.js";

const hasOpenssl = requirePeer("openssl", "openssl");
const hasTestssl = requirePeer("testssl", "testssl.sh");

const DAY_MS = 24 * 60 * 60 * 1000;
const ALERT_HANDSHAKE_FAILURE = 40;
const ALERT_PROTOCOL_VERSION = 70;
const AEAD_TLS12 = /^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/;
const AEAD_TLS13 = /^TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$/;

interface RunResult {
  code: number;
  stdout: Buffer;
  /** stdout and stderr as text, for matching and for failure messages. */
  output: string;
}

// execFile with an argument array: no shell ever parses these arguments.
function run(
  command: string,
  args: string[],
  options: { input?: Buffer | string; timeoutMs: number; cwd?: string },
) {
  return new Promise<RunResult>((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { encoding: "buffer", timeout: options.timeoutMs, maxBuffer: 32 * 1024 * 1024, cwd: options.cwd },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== "number" && !err.killed) {
          reject(err);
          return;
        }
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, output: `${stdout.toString("utf8")}\n${stderr.toString("utf8")}` });
      },
    );
    // s_client reads stdin: closing it makes the client quit right after the handshake.
    child.stdin?.end(options.input ?? "");
  });
}

/** The protocol and cipher of a completed handshake, or null when none completed. */
function negotiated(output: string): { protocol: string; cipher: string } | null {
  const m = /^New, (\S+), Cipher is (\S+)/m.exec(output);
  if (!m || m[2] === "(NONE)") return null;
  return { protocol: m[1] ?? "", cipher: m[2] ?? "" };
}

/** The alert number the peer (our server) sent, as OpenSSL reports a received alert. */
function receivedAlert(output: string): number | null {
  const m = /ssl3_read_bytes:[^:]*alert[^:]*:.*SSL alert number (\d+)/.exec(output);
  return m ? Number(m[1]) : null;
}

type HelloReply =
  | { kind: "alert"; level: number; description: number }
  | { kind: "serverHello"; cipherSuite: number }
  | { kind: "other"; bytes: string };

const u16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const vec16 = (body: Buffer) => Buffer.concat([u16(body.length), body]);
const extension = (type: number, body: Buffer) => Buffer.concat([u16(type), vec16(body)]);

/**
 * A TLS 1.2 ClientHello offering exactly `suites`. OpenSSL 3 as shipped by Debian cannot offer 3DES or RC4
 * at all, so only a hand-built hello makes the *server* decide about those suites.
 */
function clientHello(suites: number[]): Buffer {
  const host = Buffer.from("localhost");
  const extensions = Buffer.concat([
    extension(0x0000, vec16(Buffer.concat([Buffer.from([0]), vec16(host)]))), // server_name
    extension(0x000a, vec16(Buffer.from([0x00, 0x1d, 0x00, 0x17, 0x00, 0x18]))), // x25519, P-256, P-384
    extension(0x000b, Buffer.from([0x01, 0x00])), // uncompressed points
    extension(0x000d, vec16(Buffer.from([0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x02, 0x01, 0x02, 0x03]))),
    extension(0xff01, Buffer.from([0x00])), // renegotiation_info
  ]);
  const body = Buffer.concat([
    Buffer.from([0x03, 0x03]),
    randomBytes(32),
    Buffer.from([0x00]),
    vec16(Buffer.concat(suites.map(u16))),
    Buffer.from([0x01, 0x00]),
    vec16(extensions),
  ]);
  const handshake = Buffer.concat([Buffer.from([0x01, 0x00]), u16(body.length), body]);
  return Buffer.concat([Buffer.from([0x16, 0x03, 0x01]), vec16(handshake)]);
}

function sendHello(port: number, suites: number[]): Promise<HelloReply> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let data = Buffer.alloc(0);
    const finish = () => {
      socket.destroy();
      const [type = -1] = data;
      if (type === 0x15 && data.length >= 7) {
        resolve({ kind: "alert", level: data[5] ?? -1, description: data[6] ?? -1 });
      } else if (type === 0x16 && data[5] === 0x02 && data.length >= 46 + (data[43] ?? 0)) {
        // record header 5 + handshake header 4 + version 2 + random 32, then the session id.
        resolve({ kind: "serverHello", cipherSuite: data.readUInt16BE(44 + (data[43] ?? 0)) });
      } else {
        resolve({ kind: "other", bytes: data.subarray(0, 16).toString("hex") });
      }
    };
    socket.setTimeout(5_000, finish);
    socket.on("connect", () => socket.write(clientHello(suites)));
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      // The first record is all the verdict needs: an alert, or a ServerHello.
      if (data.length >= 5 && data.length >= 5 + data.readUInt16BE(3)) finish();
    });
    socket.on("end", finish);
    socket.on("error", (err) => (data.length > 0 ? finish() : reject(err)));
  });
}

function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function spkiPin(certPem: string): string {
  const spki = createPublicKey(certPem).export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}

const tmpDirs: string[] = [];
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "patchpilot-tls-"));
  tmpDirs.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(tmpDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe("TLS handshakes against a real HTTPS server", () => {
  let tlsDir = "";
  let material: TlsMaterial;
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    tlsDir = join(await freshDir(), "tls");
    material = await ensureTlsMaterial({ tlsDir, hostnames: ["localhost"] });
    server = createServer(httpsServerOptions(material), (_req, res) => {
      res.setHeader("Strict-Transport-Security", HSTS_HEADER_VALUE);
      res.end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const sClient = (args: string[]) =>
    run("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "localhost", ...args], {
      timeoutMs: 20_000,
    });

  it.skipIf(!hasOpenssl)("refuses TLS 1.1 with a protocol_version alert from the server", async () => {
    const r = await sClient(["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]);
    expect(negotiated(r.output), r.output).toBeNull();
    expect(r.code).not.toBe(0);
    expect(receivedAlert(r.output), r.output).toBe(ALERT_PROTOCOL_VERSION);
  });

  it.skipIf(!hasOpenssl)("accepts TLS 1.2 with an ECDHE AEAD suite", async () => {
    const r = await sClient(["-tls1_2"]);
    expect(r.code, r.output).toBe(0);
    const n = negotiated(r.output);
    expect(n?.protocol).toBe("TLSv1.2");
    expect(n?.cipher).toMatch(AEAD_TLS12);
  });

  it.skipIf(!hasOpenssl)("accepts TLS 1.3", async () => {
    const r = await sClient(["-tls1_3"]);
    expect(r.code, r.output).toBe(0);
    const n = negotiated(r.output);
    expect(n?.protocol).toBe("TLSv1.3");
    expect(n?.cipher).toMatch(AEAD_TLS13);
  });

  it.skipIf(!hasOpenssl)("negotiates TLS 1.3 when the client allows 1.2 and 1.3", async () => {
    const r = await sClient(["-min_protocol", "TLSv1.2", "-max_protocol", "TLSv1.3"]);
    expect(r.code, r.output).toBe(0);
    expect(negotiated(r.output)?.protocol).toBe("TLSv1.3");
  });

  it.skipIf(!hasOpenssl)("refuses a CBC-SHA1-only client with a handshake_failure alert", async () => {
    const r = await sClient(["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA"]);
    expect(negotiated(r.output), r.output).toBeNull();
    expect(r.code).not.toBe(0);
    expect(receivedAlert(r.output), r.output).toBe(ALERT_HANDSHAKE_FAILURE);
  });

  // Either the local OpenSSL cannot offer the suite at all ("no cipher match"), or it offers it and the
  // server must answer with an alert; a completed handshake fails the test either way.
  async function expectOpensslClientRefused(cipher: string): Promise<void> {
    const r = await sClient(["-tls1_2", "-cipher", `${cipher}@SECLEVEL=0`]);
    expect(negotiated(r.output), r.output).toBeNull();
    expect(r.code).not.toBe(0);
    if (!/no cipher match/.test(r.output)) {
      expect(receivedAlert(r.output), r.output).toBe(ALERT_HANDSHAKE_FAILURE);
    }
  }

  it("answers a hand-built ClientHello with an allowed suite with a ServerHello (probe sanity check)", async () => {
    // ECDHE-ECDSA-AES128-GCM-SHA256
    expect(await sendHello(port, [0xc02b])).toEqual({ kind: "serverHello", cipherSuite: 0xc02b });
  });

  it.skipIf(!hasOpenssl)("refuses a 3DES-only client", async () => {
    await expectOpensslClientRefused("DES-CBC3-SHA");
    // RSA-DES-CBC3-SHA, ECDHE-ECDSA-DES-CBC3-SHA, ECDHE-RSA-DES-CBC3-SHA: the server itself must refuse.
    const reply = await sendHello(port, [0x000a, 0xc008, 0xc012]);
    expect(reply).toEqual({ kind: "alert", level: 2, description: ALERT_HANDSHAKE_FAILURE });
  });

  it.skipIf(!hasOpenssl)("refuses an RC4-only client", async () => {
    await expectOpensslClientRefused("RC4-SHA");
    // RC4-MD5, RC4-SHA, ECDHE-ECDSA-RC4-SHA, ECDHE-RSA-RC4-SHA.
    const reply = await sendHello(port, [0x0004, 0x0005, 0xc007, 0xc011]);
    expect(reply).toEqual({ kind: "alert", level: 2, description: ALERT_HANDSHAKE_FAILURE });
  });

  it("refuses NULL, export and anonymous suites offered in a hand-built ClientHello", async () => {
    // NULL-SHA, ECDHE-ECDSA-NULL-SHA, EXP-RC4-MD5, EXP-DES-CBC-SHA, ADH-AES128-SHA, AECDH-AES128-SHA,
    // ADH-AES128-GCM-SHA256.
    const reply = await sendHello(port, [0x0002, 0xc006, 0x0003, 0x0008, 0x0034, 0xc018, 0x00a6]);
    expect(reply).toEqual({ kind: "alert", level: 2, description: ALERT_HANDSHAKE_FAILURE });
  });

  it.skipIf(!hasOpenssl)(
    "presents a chain that verifies against ca.crt and not against another CA",
    async () => {
      const caFile = join(tlsDir, "ca.crt");
      const ok = await sClient(["-CAfile", caFile, "-verify_return_error", "-verify_hostname", "localhost"]);
      expect(ok.code, ok.output).toBe(0);
      expect(ok.output).toMatch(/Verify return code: 0 \(ok\)/);

      const otherDir = join(await freshDir(), "tls");
      await ensureTlsMaterial({ tlsDir: otherDir, hostnames: ["localhost"] });
      const bad = await sClient(["-CAfile", join(otherDir, "ca.crt"), "-verify_return_error"]);
      // s_client still prints the half-finished session, so judge by the verify result and exit code.
      expect(bad.code, bad.output).not.toBe(0);
      expect(bad.output).toMatch(/certificate verify failed/);
      expect(bad.output).not.toMatch(/Verify return code: 0 \(ok\)/);
    },
  );

  it.skipIf(!hasOpenssl)("pins the SPKI hash openssl derives, and the server sends that CA", async () => {
    const caPem = await readFile(join(tlsDir, "ca.crt"), "utf8");
    expect(spkiPin(caPem)).toBe(material.caSpkiSha256);

    // openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256, without a shell pipeline.
    const pub = await run("openssl", ["x509", "-pubkey", "-noout", "-in", join(tlsDir, "ca.crt")], {
      timeoutMs: 10_000,
    });
    expect(pub.code, pub.output).toBe(0);
    const der = await run("openssl", ["pkey", "-pubin", "-outform", "der"], {
      input: pub.stdout,
      timeoutMs: 10_000,
    });
    expect(der.code, der.output).toBe(0);
    expect(createHash("sha256").update(der.stdout).digest("base64")).toBe(material.caSpkiSha256);

    const shown = await sClient(["-showcerts"]);
    const chain = pemBlocks(shown.output);
    expect(chain).toHaveLength(2);
    expect(spkiPin(chain[1] ?? "")).toBe(material.caSpkiSha256);
  });

  it("serves HTTPS to a Node client that trusts only our CA, with the HSTS header", async () => {
    const res = await new Promise<{ status: number; hsts: string | undefined }>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port, servername: "localhost", path: "/", ca: material.caCert ?? "" },
        (r) => {
          r.resume();
          r.on("end", () =>
            resolve({ status: r.statusCode ?? 0, hsts: r.headers["strict-transport-security"] }),
          );
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(res).toEqual({ status: 200, hsts: "max-age=31536000" });
  });

  it.skipIf(!hasTestssl)(
    "passes testssl: only TLS 1.2/1.3, only forward-secret AEAD suites",
    async () => {
      const workDir = await freshDir();
      const jsonFile = join(workDir, "testssl.json");
      const r = await run(
        "testssl",
        [
          "--protocols",
          "--std",
          "--rc4",
          "--cipher-per-proto",
          "--quiet",
          "--color",
          "0",
          "--warnings",
          "off",
          "--nodns",
          "none",
          "--jsonfile",
          jsonFile,
          `127.0.0.1:${port}`,
        ],
        { timeoutMs: 200_000, cwd: workDir },
      );
      const findings = JSON.parse(await readFile(jsonFile, "utf8").catch(() => "[]")) as Array<{
        id: string;
        finding: string;
      }>;
      const byId = new Map(findings.map((f) => [f.id, f.finding]));
      const context = r.output;

      for (const id of ["SSLv2", "SSLv3", "TLS1", "TLS1_1"]) {
        expect(byId.get(id), `${id}\n${context}`).toMatch(/^not offered/);
      }
      for (const id of ["TLS1_2", "TLS1_3"]) {
        expect(byId.get(id), `${id}\n${context}`).toMatch(/^offered/);
      }
      for (const id of ["NULL", "aNULL", "EXPORT", "LOW", "3DES_IDEA", "AVERAGE"]) {
        expect(byId.get(`cipherlist_${id}`), `cipherlist_${id}\n${context}`).toMatch(/^not offered/);
      }
      expect(byId.get("RC4"), context).toMatch(/not vulnerable/);

      // Each offered suite, per protocol: every one must be an ECDHE/TLS 1.3 AEAD suite.
      const offered = findings.filter((f) => f.id.startsWith("cipher-"));
      expect(
        offered.some((f) => f.id.startsWith("cipher-tls1_2_")),
        context,
      ).toBe(true);
      expect(
        offered.some((f) => f.id.startsWith("cipher-tls1_3_")),
        context,
      ).toBe(true);
      for (const f of offered) {
        expect(f.id).toMatch(/^cipher-tls1_[23]_x[0-9a-f]+$/);
        const name = f.finding.split(/\s+/)[3] ?? "";
        expect(name, f.finding).toMatch(f.id.startsWith("cipher-tls1_3_") ? AEAD_TLS13 : AEAD_TLS12);
      }
    },
    240_000,
  );
});

describe("ensureTlsMaterial", () => {
  it("creates a P-256 CA and server certificate with the required extensions", async () => {
    const tlsDir = join(await freshDir(), "tls");
    const now = new Date();
    const m = await ensureTlsMaterial({ tlsDir, hostnames: ["patchpilot.example.test", "192.0.2.7"], now });
    expect(m.source).toBe("generated");

    const ca = new x509.X509Certificate(m.caCert ?? "");
    expect(ca.subject).toMatch(/^CN=PatchPilot Root CA [0-9a-f]{8}$/);
    expect(ca.subject).toBe(ca.issuer);
    expect(ca.publicKey.algorithm).toMatchObject({ name: "ECDSA", namedCurve: "P-256" });
    expect(ca.serialNumber).toMatch(/^[0-9a-f]{32}$/);
    const caBc = ca.getExtension(x509.BasicConstraintsExtension);
    expect([caBc?.ca, caBc?.pathLength, caBc?.critical]).toEqual([true, 0, true]);
    const caKu = ca.getExtension(x509.KeyUsagesExtension);
    expect(caKu?.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    expect(caKu?.critical).toBe(true);
    const caSki = ca.getExtension(x509.SubjectKeyIdentifierExtension);
    expect(caSki?.keyId).toMatch(/^[0-9a-f]{40}$/);
    const caYears = (ca.notAfter.getTime() - now.getTime()) / (365.25 * DAY_MS);
    expect(caYears).toBeGreaterThan(9.99);
    expect(caYears).toBeLessThan(10.01);

    const [leafPem = "", chainCaPem = ""] = pemBlocks(m.cert);
    expect(spkiPin(chainCaPem)).toBe(m.caSpkiSha256);
    const leaf = new x509.X509Certificate(leafPem);
    expect(leaf.issuer).toBe(ca.subject);
    expect(leaf.serialNumber).toMatch(/^[0-9a-f]{32}$/);
    expect(leaf.serialNumber).not.toBe(ca.serialNumber);
    expect(leaf.publicKey.algorithm).toMatchObject({ name: "ECDSA", namedCurve: "P-256" });
    const days = (leaf.notAfter.getTime() - now.getTime()) / DAY_MS;
    expect(Math.round(days)).toBe(397);
    const bc = leaf.getExtension(x509.BasicConstraintsExtension);
    expect(bc?.ca).toBe(false);
    const ku = leaf.getExtension(x509.KeyUsagesExtension);
    expect([ku?.usages, ku?.critical]).toEqual([x509.KeyUsageFlags.digitalSignature, true]);
    expect(leaf.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([
      x509.ExtendedKeyUsage.serverAuth,
    ]);
    expect(leaf.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(caSki?.keyId);
    const sans = leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON();
    expect(sans).toEqual(
      expect.arrayContaining([
        { type: "dns", value: "patchpilot.example.test" },
        { type: "ip", value: "192.0.2.7" },
        { type: "dns", value: "localhost" },
        { type: "ip", value: "127.0.0.1" },
      ]),
    );
    expect(new X509Certificate(leafPem).checkIP("::1")).toBe("::1");
    expect(m.key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it("verifies the leaf against the CA with node:crypto", async () => {
    const m = await ensureTlsMaterial({ tlsDir: join(await freshDir(), "tls"), hostnames: ["localhost"] });
    const ca = new X509Certificate(m.caCert ?? "");
    const leaf = new X509Certificate(m.cert);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkPrivateKey(createPrivateKey(m.key))).toBe(true);
  });

  it("writes private keys 0600 inside a 0700 directory", async () => {
    const tlsDir = join(await freshDir(), "tls");
    await ensureTlsMaterial({ tlsDir, hostnames: ["localhost"] });
    const mode = async (p: string) => (await stat(p)).mode & 0o777;
    expect(await mode(tlsDir)).toBe(0o700);
    expect(await mode(join(tlsDir, "ca.key"))).toBe(0o600);
    expect(await mode(join(tlsDir, "server.key"))).toBe(0o600);
  });

  it("reuses the CA and the server certificate on a second start", async () => {
    const tlsDir = join(await freshDir(), "tls");
    const first = await ensureTlsMaterial({ tlsDir, hostnames: ["localhost"] });
    const second = await ensureTlsMaterial({ tlsDir, hostnames: ["localhost"] });
    expect(second.caSpkiSha256).toBe(first.caSpkiSha256);
    expect(second.caCert).toBe(first.caCert);
    expect(second.cert).toBe(first.cert);
    expect(second.key).toBe(first.key);
  });

  it("reissues only the server certificate, from the same CA, when the hostnames change", async () => {
    const tlsDir = join(await freshDir(), "tls");
    const first = await ensureTlsMaterial({ tlsDir, hostnames: ["localhost"] });
    const changed = await ensureTlsMaterial({ tlsDir, hostnames: ["patch.example.test", "198.51.100.4"] });
    expect(changed.caSpkiSha256).toBe(first.caSpkiSha256);
    expect(changed.caCert).toBe(first.caCert);
    expect(changed.cert).not.toBe(first.cert);
    expect(changed.key).not.toBe(first.key);
    const leaf = new X509Certificate(changed.cert);
    expect(leaf.checkHost("patch.example.test")).toBe("patch.example.test");
    expect(leaf.checkIP("198.51.100.4")).toBe("198.51.100.4");
    expect(leaf.verify(new X509Certificate(first.caCert ?? "").publicKey)).toBe(true);

    // A subset of what is already covered needs no new certificate.
    const subset = await ensureTlsMaterial({ tlsDir, hostnames: ["patch.example.test"] });
    expect(subset.cert).toBe(changed.cert);
  });

  it("reissues the server certificate within 30 days of expiry, never the CA", async () => {
    const tlsDir = join(await freshDir(), "tls");
    const first = await ensureTlsMaterial({ tlsDir, hostnames: ["localhost"] });
    const later = await ensureTlsMaterial({
      tlsDir,
      hostnames: ["localhost"],
      now: new Date(Date.now() + 360 * DAY_MS),
    });
    expect(later.cert).toBe(first.cert);
    const renewed = await ensureTlsMaterial({
      tlsDir,
      hostnames: ["localhost"],
      now: new Date(Date.now() + 370 * DAY_MS),
    });
    expect(renewed.cert).not.toBe(first.cert);
    expect(renewed.caSpkiSha256).toBe(first.caSpkiSha256);
    expect(new Date(new X509Certificate(renewed.cert).validTo).getTime()).toBeGreaterThan(
      Date.now() + 700 * DAY_MS,
    );
  });

  it("refuses to replace a CA whose certificate has gone missing", async () => {
    const tlsDir = join(await freshDir(), "tls");
    await ensureTlsMaterial({ tlsDir, hostnames: ["localhost"] });
    await unlink(join(tlsDir, "ca.crt"));
    await expect(ensureTlsMaterial({ tlsDir, hostnames: ["localhost"] })).rejects.toThrow(/incomplete/);
  });

  it("never lets a concurrent first start replace a CA another one wrote", async () => {
    const tlsDir = join(await freshDir(), "tls");
    const results = await Promise.allSettled([
      ensureTlsMaterial({ tlsDir, hostnames: ["localhost"] }),
      ensureTlsMaterial({ tlsDir, hostnames: ["localhost"] }),
    ]);
    const caPem = await readFile(join(tlsDir, "ca.crt"), "utf8");
    const caKey = createPrivateKey(await readFile(join(tlsDir, "ca.key"), "utf8"));
    expect(new X509Certificate(caPem).checkPrivateKey(caKey)).toBe(true);
    const fulfilled = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    expect(fulfilled.length).toBeGreaterThan(0);
    for (const r of results) {
      if (r.status === "rejected") expect(String(r.reason)).toMatch(/Another process created the PatchPilot/);
    }
    for (const m of fulfilled) expect(m.caSpkiSha256).toBe(spkiPin(caPem));
  });

  it("uses an operator-given certificate and key that match", async () => {
    const src = join(await freshDir(), "tls");
    const made = await ensureTlsMaterial({ tlsDir: src, hostnames: ["localhost"] });
    const given = await ensureTlsMaterial({
      tlsDir: join(await freshDir(), "unused"),
      hostnames: ["localhost"],
      certFile: join(src, "server.crt"),
      keyFile: join(src, "server.key"),
    });
    expect(given.source).toBe("given");
    expect(given.caCert).toBeNull();
    expect(given.caSpkiSha256).toBeNull();
    expect(given.key).toBe(made.key);
    expect(pemBlocks(given.cert)[0]).toBe(pemBlocks(made.cert)[0]);
  });

  it("refuses a given certificate whose key does not match, with a clear message", async () => {
    const a = join(await freshDir(), "tls");
    const b = join(await freshDir(), "tls");
    await ensureTlsMaterial({ tlsDir: a, hostnames: ["localhost"] });
    await ensureTlsMaterial({ tlsDir: b, hostnames: ["localhost"] });
    const certFile = join(a, "server.crt");
    const keyFile = join(b, "server.key");
    await expect(
      ensureTlsMaterial({ tlsDir: join(await freshDir(), "unused"), hostnames: [], certFile, keyFile }),
    ).rejects.toThrow(`The TLS private key in ${keyFile} does not match the certificate in ${certFile}`);
  });

  it("refuses an expired given certificate", async () => {
    const src = join(await freshDir(), "tls");
    // Issued two years ago, so its 397 days are long over.
    await ensureTlsMaterial({
      tlsDir: src,
      hostnames: ["localhost"],
      now: new Date(Date.now() - 730 * DAY_MS),
    });
    const certFile = join(src, "server.crt");
    const keyFile = join(src, "server.key");
    await expect(
      ensureTlsMaterial({ tlsDir: join(await freshDir(), "unused"), hostnames: [], certFile, keyFile }),
    ).rejects.toThrow(/expired/);
  });

  it("refuses a key file that is not a private key", async () => {
    const src = join(await freshDir(), "tls");
    await ensureTlsMaterial({ tlsDir: src, hostnames: ["localhost"] });
    const keyFile = join(src, "garbage.key");
    await writeFile(keyFile, "not a key\n");
    await expect(
      ensureTlsMaterial({ tlsDir: src, hostnames: [], certFile: join(src, "server.crt"), keyFile }),
    ).rejects.toThrow(/readable unencrypted PEM private key/);
  });
});
