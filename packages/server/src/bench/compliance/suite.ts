/**
 * The compliance suite: durable hash-chained audit appends, chain verification, CSV export,
 * SIEM delivery to a real rsyslog, and an evidence pack, on a scratch PostgreSQL database.
 * BENCH_COMPLIANCE_SCALE (0.001–1, default 1) shrinks every volume for a quicker run.
 */
import { openDatabase } from "../../db/open.js";
import { type Alignment, markdownTable, ms, textTable, wholeRate } from "../common/format.js";
import type { BenchContext, Suite, SuiteReport, TargetVerdict } from "../suite.js";
import { measureCompliance } from "./measure.js";

const TITLE = "Compliance and audit";

function scaleFrom(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 1;
  const value = Number(raw);
  if (!(value >= 0.001 && value <= 1))
    throw new Error(`BENCH_COMPLIANCE_SCALE must be from 0.001 to 1, got ${raw}`);
  return value;
}

const verdict = (met: boolean, goal: string, got: string): TargetVerdict => ({
  met,
  text: `${met ? "met" : "NOT met"} (${goal}): ${got}`,
});

export const complianceSuite: Suite = {
  name: "compliance",
  title: TITLE,
  async run(context: BenchContext): Promise<SuiteReport> {
    const scale = scaleFrom(process.env.BENCH_COMPLIANCE_SCALE);
    const scratch = await context.scratchDatabase();
    const db = await openDatabase({ databaseUrl: scratch.url, pgliteDir: null, poolSize: 16 });
    try {
      const f = await measureCompliance(db, scale, context.say);
      const rows: string[][] = [
        ["audit append, 1 event per transaction, 16 writers", `${wholeRate(f.appendRate1)} events/s`],
        ["audit append, 50 events per transaction, 16 writers", `${wholeRate(f.appendRate50)} events/s`],
        [
          `single durable append at 1,000/s (${f.singleSamples} samples)`,
          `p50 ${ms(f.singleP50Ms)} ms, p99 ${ms(f.singleP99Ms)} ms`,
        ],
        [
          `chain verification (${f.verifiedRows.toLocaleString("en-US")} rows, one core)`,
          `${wholeRate(f.verifyRate)} rows/s`,
        ],
        [
          `CSV export (${f.exportRows.toLocaleString("en-US")} rows)`,
          `${wholeRate(f.exportRate)} rows/s, peak RSS ${Math.round(f.exportPeakRssMb)} MB`,
        ],
        [
          `SIEM to rsyslog over TCP (${f.siemTcpMessages.toLocaleString("en-US")} messages)`,
          f.siemTcpRate === null ? "not measured" : `${wholeRate(f.siemTcpRate)} messages/s`,
        ],
        [
          "SIEM over TLS",
          "not measured: this machine's rsyslog has no TLS driver (rsyslog-gnutls / rsyslog-openssl)",
        ],
        [
          `evidence pack (ISO 27001, ${f.evidenceDevices.toLocaleString("en-US")} devices, 90 days)`,
          `${f.evidenceSeconds.toFixed(1)} s`,
        ],
      ];
      const targets: TargetVerdict[] = [
        verdict(
          f.appendRate50 >= 20_000,
          "≥ 20,000 durable chained events/s",
          `${wholeRate(f.appendRate50)}/s`,
        ),
        verdict(f.singleP99Ms <= 5, "single append p99 ≤ 5 ms at 1,000/s", `${ms(f.singleP99Ms)} ms`),
        verdict(
          f.verifyRate >= 100_000,
          "chain verification ≥ 100,000 events/s per core",
          `${wholeRate(f.verifyRate)}/s`,
        ),
        verdict(
          f.exportRate >= 100_000 && f.exportPeakRssMb < 200,
          "CSV ≥ 100,000 rows/s in < 200 MB RSS",
          `${wholeRate(f.exportRate)}/s, ${Math.round(f.exportPeakRssMb)} MB`,
        ),
        verdict(
          (f.siemTcpRate ?? 0) >= 10_000,
          "SIEM ≥ 10,000 messages/s over TCP",
          f.siemTcpRate === null ? "not measured" : `${wholeRate(f.siemTcpRate)}/s`,
        ),
        verdict(f.evidenceSeconds < 60, "evidence pack < 60 s", `${f.evidenceSeconds.toFixed(1)} s`),
      ];
      const align: Alignment[] = ["left", "right"];
      const markdown = [
        `## ${TITLE}`,
        "",
        `PostgreSQL ${scratch.serverVersion} (${scratch.durability}), scale ${scale} (BENCH_COMPLIANCE_SCALE; 1 = the volumes the targets name).`,
        "Appends go through the application's unit of work (tenant transaction, row-level security, chain head lock); the export streams through the HTTP export's own code; SIEM messages go over loopback TCP to a real rsyslogd writing JSON lines.",
        "",
        markdownTable(["measurement", "result"], align, rows),
        "",
        ...targets.map((t) => `- ${t.text}`),
        "",
      ].join("\n");
      return { markdown, targets, summary: textTable(["measurement", "result"], align, rows) };
    } finally {
      await db.close();
      await scratch.drop();
    }
  },
};
