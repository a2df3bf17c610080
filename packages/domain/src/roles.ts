/**
 * Roles a member can hold in one organisation. `msp_tenant_admin` is held by an MSP's technicians
 * in the client organisations they manage; it is listed here so the matrix and the database
 * admit it, and the MSP capability grants it.
 */
export const ROLES = ["owner", "admin", "operator", "auditor", "msp_tenant_admin"] as const;
export type Role = (typeof ROLES)[number];

/** Roles an organisation member may be given through the user-management API today. */
export const ASSIGNABLE_ROLES = ["owner", "admin", "operator", "auditor"] as const satisfies readonly Role[];
export type AssignableRole = (typeof ASSIGNABLE_ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
