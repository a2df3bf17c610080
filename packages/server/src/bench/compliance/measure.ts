import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { verifyChain } from "../../audit/verify.js";
import { EvidenceKeyStore } from "../../compliance/evidence/evidence-key.js";
import { generateEvidencePack } from "../../compliance/evidence/evidence-pack.js";
import { exportAuditEventsCsv } from "../../compliance/exports/event-export.js";
import { formatRfc5424 } from "../../compliance/siem/syslog-format.js";
import { sendBatch } from "../../compliance/siem/syslog-transport.js";
import type { Database } from "../../db/database.js";
import { SYSTEM_WORK } from "../../db/unit-of-work.js";
import type { RequestContext } from "../../http/route.js";
import { createOrganization, createUser } from "../../organizations/create-organization.js";
import { SecretBox } from "../../secrets/secret-box.js";
import { freePort, RsyslogPeer } from "../common/rsyslog.js";

export interface ComplianceFigures {
  appendRate1: number;
  appendRate50: number;
  appendCount: number;
  singleP99Ms: number;
  singleP50Ms: number;
  singleSamples: number;
  verifyRate: number;
  verifiedRows: number;
  exportRows: number;
  exportRate: number;
  exportPeakRssMb: number;
  siemTcpMessages: number;
  siemTcpRate: number | null;
  evidenceDevices: number;
  evidenceSeconds: number;
}

async function newOrg(db: Database, label: string): Promise<string> {
  return db.system(SYSTEM_WORK, async (tx) => {
    const userId = await createUser(tx, {
      email: `${label}-${Math.random().toString(36).slice(2)}@bench.test`,
      name: "Bench",
      passwordHash: "!bench: no sign-in",
    });
    return createOrganization(tx, { name: label, ownerUserId: userId });
  });
}

const ctxFor = (organizationId: string): RequestContext => ({
  ...SYSTEM_WORK,
  user: null,
  session: null,
  organizationId,
  role: "owner",
  device: null,
});

/** Appends `total` events from `writers` concurrent writers, each on its own organisation's chain. */
async function appendRate(
  db: Database,
  orgs: string[],
  total: number,
  perTransaction: number,
): Promise<number> {
  const perWriter = Math.ceil(total / orgs.length / perTransaction);
  const started = performance.now();
  await Promise.all(
    orgs.map(async (org) => {
      for (let i = 0; i < perWriter; i++) {
        await db.withOrganization(org, SYSTEM_WORK, async (tx) => {
          for (let j = 0; j < perTransaction; j++) tx.audit({ action: "bench.appended", details: { i, j } });
        });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return (perWriter * perTransaction * orgs.length) / seconds;
}

export async function measureCompliance(
  db: Database,
  scale: number,
  say: (t: string) => void,
): Promise<ComplianceFigures> {
  const orgs: string[] = [];
  for (let i = 0; i < 16; i++) orgs.push(await newOrg(db, `bench-${i}`));
  const appendCount = Math.round(200_000 * scale);
  say(`audit append: ${appendCount} events, 16 writers`);
  const appendRate1 = await appendRate(db, orgs, Math.round(appendCount / 10), 1);
  const appendRate50 = await appendRate(db, orgs, appendCount, 50);

  // One durable append at a time, paced at 1,000/s.
  const samples: number[] = [];
  const singleSamples = Math.max(200, Math.round(5000 * scale));
  const org0 = orgs[0] ?? "";
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < singleSamples; i++) {
    const due = start + i;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const org = orgs[i % orgs.length] ?? org0;
    inFlight.push(
      (async () => {
        const t0 = performance.now();
        await db.withOrganization(org, SYSTEM_WORK, async (tx) => tx.audit({ action: "bench.single" }));
        samples.push(performance.now() - t0);
      })(),
    );
  }
  await Promise.all(inFlight);
  samples.sort((a, b) => a - b);
  const pct = (p: number) => samples[Math.min(samples.length - 1, Math.floor(samples.length * p))] ?? 0;

  say("chain verification");
  const vStart = performance.now();
  const report = await verifyChain(db.systemReader, org0, "audit");
  const verifyRate = report.checkedRows / ((performance.now() - vStart) / 1000);

  const exportRows = Math.round(1_000_000 * scale);
  say(`CSV export: ${exportRows} rows`);
  const exportOrg = await newOrg(db, "bench-export");
  await db.owner.query(
    `INSERT INTO audit_events (organization_id, seq, occurred_at, actor_type, action, result, details, prev_hash, hash)
     SELECT $1, g + 10, now() - make_interval(secs => $2 - g), 'system', 'bench.exported', 'success',
            jsonb_build_object('i', g, 'note', '=not a formula'), sha256(int8send(g)), sha256(int8send(g + 1))
       FROM generate_series(1, $2::int) g`,
    [exportOrg, exportRows],
  );
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 50);
  const eStart = performance.now();
  const stream = await exportAuditEventsCsv(db, ctxFor(exportOrg), { action: "bench.exported" });
  let lines = 0;
  for await (const chunk of stream) {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) lines++;
  }
  const exportRate = (lines - 1) / ((performance.now() - eStart) / 1000);
  clearInterval(sampler);

  say("SIEM over TCP to rsyslog");
  let siemTcpRate: number | null = null;
  const siemTcpMessages = Math.round(100_000 * scale);
  const dir = await mkdtemp(path.join(tmpdir(), "pp-bench-rsyslog-"));
  const rsyslog = new RsyslogPeer(dir, await freePort());
  try {
    await rsyslog.start();
    const message = formatRfc5424(
      {
        organizationId: org0,
        seq: 1,
        occurredAt: new Date(),
        actorType: "user",
        actorId: "u",
        action: "bench.forwarded",
        targetType: "device",
        targetId: "d",
        result: "success",
        errorCode: null,
        details: { n: 1 },
      },
      16,
    );
    const sStart = performance.now();
    for (let sent = 0; sent < siemTcpMessages; sent += 1000) {
      await sendBatch(
        { host: "127.0.0.1", port: rsyslog.port, transport: "tcp", caPem: null },
        Array(1000).fill(message),
      );
    }
    for (;;) {
      const { size } = await import("node:fs/promises").then((fs) =>
        fs.stat(rsyslog.output).catch(() => ({ size: 0 })),
      );
      const received = (await rsyslog.received()).length;
      if (received >= siemTcpMessages || performance.now() - sStart > 120_000) {
        siemTcpRate = received / ((performance.now() - sStart) / 1000);
        break;
      }
      void size;
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (error) {
    say(`SIEM not measured: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await rsyslog.stop();
    await rm(dir, { recursive: true, force: true });
  }

  const evidenceDevices = Math.max(100, Math.round(10_000 * scale));
  say(`evidence pack: ${evidenceDevices} devices, 90 days`);
  const evidenceOrg = await newOrg(db, "bench-evidence");
  await db.owner.query(
    `INSERT INTO devices (organization_id, hardware_id, hostname, os_family, os_name, os_version, os_build, os_release,
                          kernel, arch, agent_version, facts_hash, enrolled_at)
     SELECT $1, 'hw-' || lpad(g::text, 8, '0'), 'host-' || g, 'linux', 'Debian', '12', '', '', '6.1', 'amd64', '1.0',
            sha256(int8send(g)), now() - interval '120 days'
       FROM generate_series(1, $2::int) g`,
    [evidenceOrg, evidenceDevices],
  );
  await db.owner.query(
    `INSERT INTO device_presence (device_id, organization_id, last_seen_at)
     SELECT id, organization_id, now() - make_interval(days => (random() * 10)::int) FROM devices WHERE organization_id = $1`,
    [evidenceOrg],
  );
  const keys = new EvidenceKeyStore(db, new SecretBox(Buffer.alloc(32, 7)));
  const pStart = performance.now();
  await generateEvidencePack(db, ctxFor(evidenceOrg), keys, {
    framework: "iso27001-2022",
    from: new Date(Date.now() - 90 * 86_400_000).toISOString(),
    to: new Date().toISOString(),
  });
  const evidenceSeconds = (performance.now() - pStart) / 1000;

  return {
    appendRate1,
    appendRate50,
    appendCount,
    singleP99Ms: pct(0.99),
    singleP50Ms: pct(0.5),
    singleSamples,
    verifyRate,
    verifiedRows: report.checkedRows,
    exportRows,
    exportRate,
    exportPeakRssMb: peakRss / 1024 / 1024,
    siemTcpMessages,
    siemTcpRate,
    evidenceDevices,
    evidenceSeconds,
  };
}
