import type { Role } from "./roles.js";

/**
 * Every action a route can declare. `read` actions change nothing; a state-changing route must
 * declare a `write` action (the server refuses to register it otherwise), which is what lets the
 * matrix promise that an Auditor, who holds only read actions, can change nothing.
 */
export const ACTIONS = {
  "organization.read": "read",
  "organization.update": "write",
  "users.read": "read",
  "users.invite": "write",
  "users.update_role": "write",
  "users.remove": "write",
  "audit.read": "read",
  "device_events.read": "read",
  "enrollment_tokens.read": "read",
  "enrollment_tokens.manage": "write",
  "devices.read": "read",
  "devices.update": "write",
  "devices.revoke": "write",
  "device_groups.manage": "write",
  "vulnerabilities.read": "read",
  "findings.decide": "write",
  "patching.read": "read",
  "patch_policies.manage": "write",
  "rollouts.manage": "write",
  "rollouts.approve": "write",
  "api_tokens.read": "read",
  "api_tokens.manage": "write",
  "msp.read": "read",
  "msp.manage": "write",
  // Data-subject rights: an export discloses a person's data, so it is treated as a change.
  "users.export_personal_data": "write",
  "users.erase": "write",
  /** Audit retention (Owners only, checked beside the matrix), checkpoints on demand, SIEM forwarding. */
  "compliance.manage": "write",
  /** Alert rules and the alerts they raised: Owners and Admins manage them, everyone may read. */
  "alert_rules.read": "read",
  "alert_rules.manage": "write",
  /**
   * Single sign-on settings (read, set, remove): the identity provider decides who signs in, so even
   * reading them is an Owner's or Admin's, like changing them.
   */
  "sso.manage": "write",
} as const satisfies Record<string, "read" | "write">;

export type Action = keyof typeof ACTIONS;
export type ActionKind = (typeof ACTIONS)[Action];

const ALL_ACTIONS = Object.keys(ACTIONS) as Action[];
const READ_ACTIONS = ALL_ACTIONS.filter((action) => ACTIONS[action] === "read");

/**
 * What Operators may change: they run the fleet, decide on its findings (accepted risk, false
 * positive) and run rollouts, but do not manage people, who may enrol, the organisation's settings
 * (SLA days) or patch policies, and do not approve a ring's promotion: that is a second person's.
 */
const OPERATOR_WRITES: readonly Action[] = [
  "devices.update",
  "devices.revoke",
  "device_groups.manage",
  "findings.decide",
  "rollouts.manage",
];

/** The one permission matrix: role → actions it may perform inside its organisation. */
export const PERMISSION_MATRIX: Readonly<Record<Role, ReadonlySet<Action>>> = Object.freeze({
  owner: new Set(ALL_ACTIONS),
  admin: new Set(ALL_ACTIONS),
  // An MSP's technicians run a client like its Admins, but do not make credentials that would
  // outlive their assignment (API tokens) nor manage the MSP relation itself.
  msp_tenant_admin: new Set(ALL_ACTIONS.filter((a) => a !== "api_tokens.manage" && a !== "msp.manage")),
  operator: new Set<Action>([...READ_ACTIONS, ...OPERATOR_WRITES]),
  auditor: new Set<Action>(READ_ACTIONS),
});

export function isAction(value: string): value is Action {
  return Object.hasOwn(ACTIONS, value);
}

export function actionKind(action: Action): ActionKind {
  return ACTIONS[action];
}

export function can(role: Role, action: Action): boolean {
  return PERMISSION_MATRIX[role].has(action);
}

/** The actions a role may perform, sorted, for the API to tell the console what to show. */
export function permissionsOf(role: Role): Action[] {
  return [...PERMISSION_MATRIX[role]].sort();
}

/**
 * Rules beyond the matrix that protect ownership: only an Owner may grant or take away the Owner
 * role, and only an Owner may remove another Owner.
 */
export function mayChangeRole(actor: Role, from: Role, to: Role): boolean {
  if (from === to) return can(actor, "users.update_role");
  if (from === "owner" || to === "owner") return actor === "owner";
  return can(actor, "users.update_role");
}

export function mayRemoveMember(actor: Role, target: Role): boolean {
  if (target === "owner") return actor === "owner";
  return can(actor, "users.remove");
}

/** How much a role may do, for "no higher than the creator's" (API tokens). */
const ROLE_RANK: Readonly<Record<Role, number>> = {
  owner: 4,
  admin: 3,
  msp_tenant_admin: 3,
  operator: 2,
  auditor: 1,
};

/** Whether someone holding `actor` may hand out `granted` (to an API token): never a higher role. */
export function mayGrantRole(actor: Role, granted: Role): boolean {
  return ROLE_RANK[granted] <= ROLE_RANK[actor];
}

/** How long audit history is kept is an Owner's decision: it decides what an auditor can still see. */
export function mayChangeRetention(actor: Role): boolean {
  return actor === "owner";
}

export function mayInvite(actor: Role, role: Role): boolean {
  if (role === "owner") return actor === "owner";
  return can(actor, "users.invite");
}
