import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, RsyslogPeer } from "../../bench/common/rsyslog.js";
import { call, createTestOrg, startTestApp, type TestApp, type TestOrg } from "../../testing/app.js";
import { SYSTEM_CONTEXT } from "../../testing/database.js";
import { requirePeer, requirePeerFile } from "../../testing/peers.js";

const run = promisify(execFile);

// rsyslogd lives in /usr/sbin, which a normal user's PATH may lack; its TLS stream driver is a
// plug-in in a separate Debian package (rsyslog-gnutls).
const haveRsyslog = existsSync("/usr/sbin/rsyslogd") || requirePeer("rsyslogd", "rsyslog");
const haveTls =
  haveRsyslog &&
  requirePeerFile(
    "rsyslog's TLS stream driver (lmnsd_gtls.so)",
    [
      "/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so",
      "/usr/lib/aarch64-linux-gnu/rsyslog/lmnsd_gtls.so",
      "/usr/lib/rsyslog/lmnsd_gtls.so",
    ],
    "rsyslog-gnutls",
  ) &&
  requirePeer("openssl", "openssl");

let t: TestApp;
let dir: string;
let rsyslog: RsyslogPeer;
/** The CA the destination is configured to trust, and another one nobody configured. */
let rightCa: string;
let otherCa: string;

/** A CA and a loopback server certificate signed by it, made with the openssl command line. */
async function makeCa(name: string): Promise<{ caPem: string; certFile: string; keyFile: string }> {
  const p = (f: string) => path.join(dir, `${name}-${f}`);
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.pem"),
    "-days",
    "2",
    "-subj",
    `/CN=${name} test CA`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await run("openssl", [
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    p("server.key"),
    "-out",
    p("server.csr"),
    "-subj",
    "/CN=127.0.0.1",
  ]);
  await writeFile(
    p("server.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n",
  );
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    p("server.csr"),
    "-CA",
    p("ca.pem"),
    "-CAkey",
    p("ca.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    p("server.ext"),
    "-out",
    p("server.pem"),
  ]);
  return { caPem: await readFile(p("ca.pem"), "utf8"), certFile: p("server.pem"), keyFile: p("server.key") };
}

/** Points rsyslog's listener at the server certificate (and CA) of `ca`; takes effect on restart. */
async function presentCertificateOf(name: string) {
  await copyFile(path.join(dir, `${name}-ca.pem`), path.join(dir, "listen-ca.pem"));
  await copyFile(path.join(dir, `${name}-server.pem`), path.join(dir, "listen-cert.pem"));
  await copyFile(path.join(dir, `${name}-server.key`), path.join(dir, "listen-key.pem"));
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "pp-rsyslog-tls-"));
  rsyslog = new RsyslogPeer(dir, await freePort(), {
    caFile: path.join(dir, "listen-ca.pem"),
    certFile: path.join(dir, "listen-cert.pem"),
    keyFile: path.join(dir, "listen-key.pem"),
  });
  if (haveTls) {
    rightCa = (await makeCa("right")).caPem;
    otherCa = (await makeCa("other")).caPem;
    await presentCertificateOf("right");
    await rsyslog.start();
  }
  t = await startTestApp({ backgroundWork: false });
});
afterAll(async () => {
  await rsyslog.stop();
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

async function businessOrg(name: string): Promise<TestOrg> {
  const org = await createTestOrg(t.db, name);
  await t.db.owner.query("UPDATE organizations SET plan = 'business' WHERE id = $1", [org.organizationId]);
  return org;
}

async function configure(org: TestOrg, body: Record<string, unknown>) {
  const res = await call(t.app, {
    method: "PUT",
    url: `/api/v1/orgs/${org.organizationId}/siem`,
    as: org.owner,
    body: { host: "127.0.0.1", port: rsyslog.port, transport: "tls", facility: 16, enabled: true, ...body },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function state(org: TestOrg) {
  return (
    await call(t.app, { method: "GET", url: `/api/v1/orgs/${org.organizationId}/siem`, as: org.owner })
  ).json();
}

async function writeEvents(org: TestOrg, n: number, label: string) {
  for (let i = 0; i < n; i++) {
    await t.db.withOrganization(org.organizationId, SYSTEM_CONTEXT, async (tx) => {
      tx.audit({
        action: "test.forwarded",
        target: { type: "thing", id: `${label}-${i}` },
        details: { label, i, tricky: 'quote " bracket ] pipe | equals = backslash \\ ünïcode\nline' },
      });
    });
  }
}

async function until(check: () => Promise<boolean>, ms = 30_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("timed out");
}

interface Received {
  pri: string;
  version: string;
  app: string;
  msgid: string;
  sd: string;
  parsed: string;
  msg: string;
}

async function received(): Promise<Received[]> {
  return (await rsyslog.received()) as unknown as Received[];
}

/** The seq of every RFC 5424 message rsyslog received for `org`, in arrival order. */
async function forwardedSeqs(org: TestOrg): Promise<number[]> {
  const out: number[] = [];
  for (const r of await received()) {
    const sd = JSON.parse(r.parsed || "{}") as Record<string, Record<string, string>>;
    const mine = sd["patchpilot@32473"];
    if (mine?.org === org.organizationId) out.push(Number(mine.seq));
  }
  return out;
}

/** The organisation's audit rows since its SIEM was first configured. */
async function ownSeqs(org: TestOrg): Promise<number[]> {
  const rows = await t.db.owner.query<{ seq: number }>(
    "SELECT seq FROM audit_events WHERE organization_id = $1 AND seq >= (SELECT coalesce(min(seq), 0) FROM audit_events WHERE organization_id = $1 AND action = 'siem.configured') ORDER BY seq",
    [org.organizationId],
  );
  return rows.map((r) => Number(r.seq));
}

async function deliverUntilAll(org: TestOrg, seqs: (org: TestOrg) => Promise<number[]>) {
  await until(async () => {
    await t.app.compliance.siem.deliverDue();
    return (await seqs(org)).length >= (await ownSeqs(org)).length;
  }, 60_000);
}

/** Lets a destination that failed be tried again now rather than after its backoff. */
async function retryNow(org: TestOrg) {
  await t.db.owner.query("UPDATE siem_configs SET next_attempt_at = now() WHERE organization_id = $1", [
    org.organizationId,
  ]);
}

describe.runIf(haveTls)("SIEM forwarding over TLS (RFC 5425) to a real rsyslog", () => {
  it("delivers every audit event over TLS, parsed by rsyslog's RFC 5424 parser, in order, once, across an rsyslog restart", {
    timeout: 120_000,
  }, async () => {
    const org = await businessOrg("TLS Forwarding Ltd");
    const set = await configure(org, { caPem: rightCa });
    expect(set).toMatchObject({ transport: "tls", format: "rfc5424", hasCa: true });
    expect(JSON.stringify(set)).not.toContain("BEGIN CERTIFICATE");
    await writeEvents(org, 30, "before");
    await deliverUntilAll(org, forwardedSeqs);
    const sample = (await received()).find((r) => r.msgid === "test.forwarded");
    expect(sample).toMatchObject({ pri: "134", version: "1", app: "patchpilot", msgid: "test.forwarded" });
    const sd = JSON.parse(sample?.parsed ?? "{}")["patchpilot@32473"];
    expect(sd).toMatchObject({
      org: org.organizationId,
      actor: "system",
      action: "test.forwarded",
      result: "success",
      target: expect.stringMatching(/^thing:before-/),
    });
    expect(JSON.parse((sample?.msg ?? "").replace(/^\uFEFF/, ""))).toMatchObject({
      label: "before",
      tricky: 'quote " bracket ] pipe | equals = backslash \\ ünïcode\nline',
    });

    // rsyslog goes down: events keep being written, delivery fails and is retried, nothing is lost.
    await rsyslog.stop();
    await writeEvents(org, 20, "while down");
    await t.app.compliance.siem.deliverDue();
    const down = await state(org);
    expect(down.failures).toBeGreaterThanOrEqual(1);
    expect(down.lastError).toMatch(/ECONNREFUSED/);
    expect(down.queued).toBeGreaterThanOrEqual(20);
    await rsyslog.start();
    await writeEvents(org, 5, "after");
    await retryNow(org);
    await deliverUntilAll(org, forwardedSeqs);
    // Every audit row since forwarding began arrived exactly once, in the chain's order.
    expect(await forwardedSeqs(org)).toEqual(await ownSeqs(org));
    expect(await state(org)).toMatchObject({ queued: 0, failures: 0, lastError: null });
  });

  it("refuses a server certificate from another CA, keeps the events, and delivers them once the CA is right", {
    timeout: 120_000,
  }, async () => {
    const org = await businessOrg("Wrong CA Ltd");
    // The destination is told to trust a CA that did not sign rsyslog's certificate.
    await configure(org, { caPem: otherCa });
    await writeEvents(org, 10, "wrong ca");
    expect(await t.app.compliance.siem.deliverDue()).toBe(0);
    const refused = await state(org);
    expect(refused.failures).toBe(1);
    expect(refused.lastError).toMatch(/certificate|self.signed|verify/i);
    expect(refused.queued).toBeGreaterThanOrEqual(10);
    expect(await forwardedSeqs(org)).toEqual([]);
    // Without any CA the system's trust store is used: the test CA is not in it either.
    await configure(org, { caPem: null });
    await t.app.compliance.siem.deliverDue();
    expect((await state(org)).lastError).toMatch(/certificate|self.signed|verify/i);
    expect(await forwardedSeqs(org)).toEqual([]);

    // The right CA: everything queued since forwarding began arrives, in order, once.
    await configure(org, { caPem: rightCa });
    await writeEvents(org, 3, "right ca");
    await deliverUntilAll(org, forwardedSeqs);
    expect(await forwardedSeqs(org)).toEqual(await ownSeqs(org));
    expect(await state(org)).toMatchObject({ queued: 0, failures: 0, lastError: null });
  });

  it("sends CEF over the same transport, which rsyslog receives as the message of an RFC 5424 line", {
    timeout: 120_000,
  }, async () => {
    const org = await businessOrg("CEF | Ltd");
    const set = await configure(org, { caPem: rightCa, format: "cef" });
    expect(set.format).toBe("cef");
    await writeEvents(org, 5, "cef");
    const cefSeqs = async (o: TestOrg) =>
      (await received())
        .filter((r) => r.msg.includes(`cs1=${o.organizationId} `))
        .map((r) => Number(/ cn1=(\d+) /.exec(r.msg)?.[1]));
    await deliverUntilAll(org, cefSeqs);
    expect(await cefSeqs(org)).toEqual(await ownSeqs(org));
    const line = (await received()).find(
      (r) => r.msg.includes(`cs1=${org.organizationId} `) && r.msgid === "test.forwarded",
    );
    expect(line).toMatchObject({
      pri: "134",
      version: "1",
      app: "patchpilot",
      msgid: "test.forwarded",
      sd: "-",
    });
    const msg = line?.msg ?? "";
    expect(msg).toMatch(
      /^CEF:0\|PatchPilot\|PatchPilot\|[^|]+\|test\.forwarded\|test\.forwarded\|3\|rt=\d+ /,
    );
    // The details, with a pipe, an equals sign, a backslash and a line break, escaped as CEF wants
    // and on one line.
    expect(msg).not.toContain("\n");
    expect(msg).toContain("equals \\= backslash \\\\\\\\ ünïcode\\\\nline");
    expect(msg).toContain(" outcome=success ");
    // Unescaping the msg extension gives back the JSON of the details.
    const raw = /(?:^| )msg=(.*)$/.exec(msg)?.[1] ?? "";
    const details = raw.replace(/\\([\\=nr])/g, (_, c: string) => (c === "n" ? "\n" : c === "r" ? "\r" : c));
    expect(JSON.parse(details)).toMatchObject({
      label: "cef",
      tricky: 'quote " bracket ] pipe | equals = backslash \\ ünïcode\nline',
    });
  });
});
