import type { Database } from "../db/database.js";
import type { RouteDefinition } from "../http/route.js";
import type { JobRunner } from "../jobs/job-runner.js";
import type { SecretBox } from "../secrets/secret-box.js";
import { CHECKPOINT_JOB, signAllCheckpoints } from "./checkpoints/checkpoints.js";
import { EvidenceKeyStore } from "./evidence/evidence-key.js";
import { purgeExpiredAuditRows, RETENTION_JOB, type RetentionOptions } from "./retention/retention.js";
import { complianceRoutes } from "./routes.js";
import { SiemForwarder, type SiemLog } from "./siem/siem-forwarder.js";

const DAY_MS = 86_400_000;

export interface ComplianceCapability {
  routes: RouteDefinition[];
  evidenceKeys: EvidenceKeyStore;
  siem: SiemForwarder;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Compliance: audit retention by plan, signed chain checkpoints, evidence packs, exports and
 * SIEM forwarding. Retention and checkpoints run daily as jobs.
 */
export function createComplianceCapability(
  db: Database,
  jobs: JobRunner,
  secrets: SecretBox,
  log: SiemLog,
  retention: RetentionOptions = {},
): ComplianceCapability {
  const evidenceKeys = new EvidenceKeyStore(db, secrets);
  const siem = new SiemForwarder(db, secrets, log);
  jobs.register(RETENTION_JOB, async () => {
    await purgeExpiredAuditRows(db, new Date(), retention);
  });
  jobs.register(CHECKPOINT_JOB, async () => {
    await signAllCheckpoints(db, await evidenceKeys.current());
  });
  jobs.schedule({ kind: RETENTION_JOB, everyMs: DAY_MS });
  jobs.schedule({ kind: CHECKPOINT_JOB, everyMs: DAY_MS });
  return {
    routes: complianceRoutes(db, evidenceKeys, secrets),
    evidenceKeys,
    siem,
    start: () => siem.start(),
    stop: () => siem.stop(),
  };
}
