/**
 * The evidence PatchPilot can produce: each is one query over the organisation's own records,
 * run over the pack's period. The server implements them; the catalogue maps controls to them.
 */
export const EVIDENCE_QUERIES = {
  patch_sla: "Findings closed in the period, each with its SLA due date and whether it was met",
  overdue_critical_high: "Critical and high findings open at the end of the period for more than 14 days",
  stale_devices: "Enrolled devices not checked in during the 7 days before the end of the period",
  device_inventory: "Devices enrolled at the end of the period, with operating system and agent version",
  access_review: "Members at generation time and their roles",
  role_changes: "Membership and role changes, invitations and removals in the period",
  failed_sign_ins: "Failed sign-ins and password changes that failed, in the period",
  rollout_changes: "Rollouts created, approved, promoted, halted and completed in the period",
  policies_in_force: "Patch policies and maintenance windows in force at generation time",
  finding_decisions: "Risk acceptances and false-positive decisions on findings in the period",
  audit_chain_verification: "The audit hash chains recomputed at generation time",
  audit_checkpoints: "Signed checkpoints of the audit chains made in the period",
  retention_purges: "Audit history removed by retention in the period, with the kept chain's anchor",
  mfa_coverage:
    "People who may act in the organisation at generation time, whether each has a second factor and since when, and the organisation's requirement",
  backups:
    "The platform's backups finished in the period: time, result, duration, size and whether the file was verified",
  restore_tests:
    "Restore tests of the platform's backups run in the period: time, result and duration (the measured restore time)",
} as const;

export type EvidenceQueryId = keyof typeof EVIDENCE_QUERIES;

export const EVIDENCE_QUERY_IDS = Object.keys(EVIDENCE_QUERIES) as EvidenceQueryId[];
