// Shapes of the /api/v1 answers the console reads (as documented in the server's OpenAPI).
export interface Me {
  user: { id: string; email: string; name: string };
  organizations: { id: string; name: string; role: string; permissions: string[] }[];
  csrfToken: string;
}
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
export interface Device {
  id: string;
  hostname: string;
  os: { family: string; name: string; version: string; build: string; release: string };
  kernel: string;
  arch: string;
  agentVersion: string;
  rebootRequired: boolean;
  tags: string[];
  criticality: string;
  groups: { id: string; name: string }[];
  status: string;
  openFindings: number;
  risk: number;
  online: boolean;
  enrolledAt: string;
  lastSeenAt: string | null;
  lastIp: string | null;
  inventory: {
    packageCount: number;
    updateCount: number;
    securityUpdateCount: number;
    updatedAt: string;
  } | null;
}
export interface Suppression {
  id: string;
  kind: string;
  reason: string;
  owner: string;
  expiresAt?: string | null;
}
export interface Finding {
  id: string;
  device: { id: string; hostname: string };
  vulnerability: {
    id: string;
    severity: string;
    cvssScore?: number | null;
    epss?: number | null;
    epssPercentile?: number | null;
    kev: boolean;
  };
  severity: string;
  package: { name: string; arch: string };
  installedVersion: string;
  fixedVersion: string | null;
  status: string;
  risk: number;
  firstSeenAt: string;
  slaDueAt: string;
  overdue: boolean;
  closedAt: string | null;
  suppression: Suppression | null;
}
export interface FindingsSummary {
  open: Record<"critical" | "high" | "medium" | "low" | "negligible" | "unknown" | "total", number>;
  kev: number;
  overdue: number;
  acceptedRisk: number;
  falsePositive: number;
  fixAvailable: number;
  devicesWithOpenFindings: number;
  meanTimeToRemediateDays: number | null;
  trend: {
    day: string;
    critical: number;
    high: number;
    medium: number;
    low: number;
    other: number;
    kev: number;
    overdue: number;
    fixedToday: number;
  }[];
}
export interface Dashboard {
  devices: { total: number; online: number; offline: number; notSeen7Days: number; compliant: number };
  compliancePercent: number | null;
}
export interface Vulnerability {
  id: string;
  summary: string | null;
  severity: string;
  cvssScore: number | null;
  epss: number | null;
  epssPercentile: number | null;
  kev: boolean;
  affectedDevices: number;
  openFindings: number;
  risk: number;
  firstSeenAt: string;
}
export interface EnrollmentToken {
  id: string;
  name: string;
  hint: string;
  groupId: string | null;
  status: string;
  uses: number;
  maxUses: number | null;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
}
export interface Group {
  id: string;
  name: string;
  description: string;
  timeZone: string;
  deviceCount: number;
}
export interface RolloutSummary {
  id: string;
  name: string;
  state: string;
  mode: string;
  currentRing: number;
  createdAt: string;
}
export interface RingCounts {
  total: number;
  pending: number;
  waitingWindow: number;
  queued: number;
  delivered?: number;
  succeeded?: number;
  failed?: number;
  skipped?: number;
}
export interface Rollout extends RolloutSummary {
  packages: { name: string; version?: string }[];
  hold: string[];
  reboot: string;
  windowId: string | null;
  haltedReason: string | null;
  finishedAt: string | null;
  rings: {
    position: number;
    name: string;
    groupIds: string[];
    gate: { successPercent: number; soakMinutes: number; requireApproval: boolean };
    state: string;
    startedAt: string | null;
    passedAt: string | null;
    approvedAt: string | null;
    counts: RingCounts;
  }[];
}
export interface RolloutDevice {
  deviceId: string;
  hostname: string;
  ring: number;
  state: string;
  attempts: number;
  reason: string | null;
  updatedAt: string;
}
export interface AuditEvent {
  id: string;
  seq: number;
  occurredAt: string;
  actor: { type: string; id?: string | null };
  action: string;
  target: { type: string; id: string } | null;
  result: string;
  errorCode: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}
export interface DeviceEvent {
  id: string;
  seq: number;
  occurredAt: string;
  deviceId: string | null;
  eventType: string;
  result: string;
  details: Record<string, unknown>;
}
export interface Member {
  id: string;
  email: string;
  name: string;
  role: string;
  joinedAt: string;
  lastLoginAt: string | null;
}
export interface Invitation {
  id: string;
  email: string;
  role: string;
  status: string;
  createdAt: string;
  expiresAt: string;
}
export interface MaintenanceWindow {
  id: string;
  name: string;
  schedule: string;
  durationMinutes: number;
  timeZone: string;
  nextOpensAt: string;
  openNow: boolean;
}
export interface HookCommand {
  hook: string;
  args: string[];
  timeoutSeconds: number;
}
export interface Policy {
  id: string;
  name: string;
  groupId: string;
  automatic: string;
  approval: { minSeverity?: string; kev?: boolean; packages?: string[]; allowMajor?: boolean };
  hold: string[];
  reboot: string;
  maxRebootDeferrals: number;
  preUpdate: HookCommand | null;
  healthCheck: { services: string[]; hook: HookCommand | null } | null;
  rollbackOnFailure: boolean;
  windowId: string | null;
  catchUpHours: number;
  updatedAt: string;
}
export interface DeviceRollout {
  rolloutId: string;
  name: string;
  rolloutState: string;
  mode: string;
  createdAt: string;
  finishedAt: string | null;
  ring: number;
  ringName: string;
  state: string;
  attempts: number;
  reason: string | null;
  health: string | null;
  verified: string | null;
  updatedAt: string;
}
