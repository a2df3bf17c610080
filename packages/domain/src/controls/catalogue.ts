import type { EvidenceQueryId } from "./evidence-queries.js";

export interface Control {
  /** As the framework numbers it: "A.8.8", "CC7.1", "21(2)(e)". */
  readonly id: string;
  readonly title: string;
  /** The evidence that supports it, in the order a pack lists it. */
  readonly evidence: readonly EvidenceQueryId[];
}

export interface Framework {
  readonly id: string;
  readonly name: string;
  readonly controls: readonly Control[];
}

// Shorthands for evidence sets several frameworks share.
const PATCHING: EvidenceQueryId[] = [
  "patch_sla",
  "overdue_critical_high",
  "rollout_changes",
  "policies_in_force",
];
const ACCESS: EvidenceQueryId[] = ["access_review", "role_changes"];
const LOGGING: EvidenceQueryId[] = ["audit_chain_verification", "audit_checkpoints", "retention_purges"];
const ASSETS: EvidenceQueryId[] = ["device_inventory", "stale_devices"];
const RECOVERY: EvidenceQueryId[] = ["backups", "restore_tests"];

const c = (id: string, title: string, evidence: EvidenceQueryId[]): Control => ({ id, title, evidence });

/** The frameworks an evidence pack can be made for; their ids are what the API accepts. */
export const FRAMEWORKS: readonly Framework[] = [
  {
    id: "iso27001-2022",
    name: "ISO/IEC 27001:2022 Annex A",
    controls: [
      c("A.5.15", "Access control", ACCESS),
      c("A.5.17", "Authentication information", ["failed_sign_ins", "access_review", "mfa_coverage"]),
      c("A.5.18", "Access rights", ACCESS),
      c("A.5.23", "Information security for use of cloud services", [
        "policies_in_force",
        "audit_chain_verification",
      ]),
      c("A.5.28", "Collection of evidence", LOGGING),
      c("A.8.2", "Privileged access rights", ACCESS),
      c("A.8.5", "Secure authentication", ["failed_sign_ins", "mfa_coverage"]),
      c("A.8.7", "Protection against malware", ["device_inventory", "patch_sla"]),
      c("A.8.8", "Management of technical vulnerabilities", [...PATCHING, "finding_decisions"]),
      c("A.8.9", "Configuration management", ["policies_in_force", "device_inventory"]),
      c("A.8.13", "Information backup", [...RECOVERY, "retention_purges", "audit_checkpoints"]),
      c("A.8.15", "Logging", LOGGING),
      c("A.8.16", "Monitoring activities", ["failed_sign_ins", "stale_devices", "audit_chain_verification"]),
      c("A.8.19", "Installation of software on operational systems", [
        "rollout_changes",
        "policies_in_force",
      ]),
      c("A.8.24", "Use of cryptography", ["audit_checkpoints", "audit_chain_verification"]),
      c("A.8.32", "Change management", ["rollout_changes", "policies_in_force"]),
    ],
  },
  {
    id: "soc2",
    name: "SOC 2 Trust Services Criteria",
    controls: [
      c("CC6.1", "Logical access security", [...ACCESS, "mfa_coverage"]),
      c("CC6.2", "User registration and authorisation", ["role_changes"]),
      c("CC6.3", "Role-based access, least privilege, removal", ACCESS),
      c("CC6.6", "Protection against threats from outside the system boundary", [
        "failed_sign_ins",
        "patch_sla",
      ]),
      c("CC7.1", "Detection of vulnerabilities and configuration changes", [
        "overdue_critical_high",
        "patch_sla",
        "device_inventory",
        "stale_devices",
      ]),
      c("CC7.2", "Monitoring of system components for anomalies", ["failed_sign_ins", ...LOGGING]),
      c("CC8.1", "Change management", ["rollout_changes", "policies_in_force", "finding_decisions"]),
      c("A1.2", "Recovery infrastructure and backups", [
        ...RECOVERY,
        "retention_purges",
        "audit_checkpoints",
      ]),
    ],
  },
  {
    id: "nis2",
    name: "NIS2 Directive article 21(2)",
    controls: [
      c("21(2)(a)", "Risk analysis and information system security policies", [
        "policies_in_force",
        "overdue_critical_high",
      ]),
      c("21(2)(b)", "Incident handling", ["failed_sign_ins", ...LOGGING]),
      c("21(2)(c)", "Business continuity, backup management and disaster recovery", [
        ...RECOVERY,
        "retention_purges",
      ]),
      c("21(2)(d)", "Supply chain security", ["device_inventory"]),
      c("21(2)(e)", "Security in acquisition, development and maintenance, incl. vulnerability handling", [
        ...PATCHING,
        "finding_decisions",
      ]),
      c("21(2)(f)", "Assessing the effectiveness of cybersecurity risk-management measures", [
        "patch_sla",
        "audit_chain_verification",
      ]),
      c("21(2)(g)", "Basic cyber hygiene practices and training", ["stale_devices", "patch_sla"]),
      c("21(2)(h)", "Cryptography and encryption", ["audit_checkpoints"]),
      c("21(2)(i)", "Human resources security, access control and asset management", [...ACCESS, ...ASSETS]),
      c("21(2)(j)", "Multi-factor authentication and secured communications", [
        "failed_sign_ins",
        "access_review",
        "mfa_coverage",
      ]),
    ],
  },
  {
    id: "cyber-essentials",
    name: "Cyber Essentials",
    controls: [
      c("CE-SUM", "Security update management", PATCHING),
      c("CE-UAC", "User access control", [...ACCESS, "failed_sign_ins", "mfa_coverage"]),
      c("CE-SC", "Secure configuration", ["policies_in_force", "device_inventory"]),
      c("CE-MP", "Malware protection", ["device_inventory", "patch_sla"]),
    ],
  },
  {
    id: "cis-v8",
    name: "CIS Critical Security Controls v8",
    controls: [
      c("CIS 1", "Inventory and control of enterprise assets", ASSETS),
      c("CIS 2", "Inventory and control of software assets", ["device_inventory"]),
      c("CIS 4", "Secure configuration of enterprise assets and software", ["policies_in_force"]),
      c("CIS 6", "Access control management", [...ACCESS, "failed_sign_ins", "mfa_coverage"]),
      c("CIS 7", "Continuous vulnerability management", [...PATCHING, "finding_decisions"]),
      c("CIS 8", "Audit log management", LOGGING),
      c("CIS 11", "Data recovery", RECOVERY),
    ],
  },
  {
    id: "gdpr-art32",
    name: "GDPR article 32 (security of processing)",
    controls: [
      c("32(1)(b)", "Ongoing confidentiality, integrity, availability and resilience", [
        ...PATCHING,
        ...ACCESS,
      ]),
      c("32(1)(c)", "Ability to restore availability and access in a timely manner", [
        ...RECOVERY,
        "retention_purges",
      ]),
      c("32(1)(d)", "Regularly testing and evaluating the effectiveness of measures", [
        "audit_chain_verification",
        "patch_sla",
        "overdue_critical_high",
      ]),
    ],
  },
];

export function frameworkById(id: string): Framework | undefined {
  return FRAMEWORKS.find((f) => f.id === id);
}

/** Every evidence query a framework's controls need, once each, in catalogue order. */
export function evidenceFor(framework: Framework): EvidenceQueryId[] {
  return [...new Set(framework.controls.flatMap((control) => control.evidence))];
}
