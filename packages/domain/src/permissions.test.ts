import { describe, expect, it } from "vitest";
import {
  ACTIONS,
  type Action,
  can,
  mayChangeRole,
  mayGrantRole,
  mayInvite,
  mayRemoveMember,
  permissionsOf,
} from "./permissions.js";
import { ROLES } from "./roles.js";

const writes = (Object.keys(ACTIONS) as Action[]).filter((a) => ACTIONS[a] === "write");
const reads = (Object.keys(ACTIONS) as Action[]).filter((a) => ACTIONS[a] === "read");

describe("permission matrix", () => {
  it("lets an Auditor read everything and change nothing", () => {
    for (const action of reads) expect(can("auditor", action), action).toBe(true);
    for (const action of writes) expect(can("auditor", action), action).toBe(false);
  });

  it("keeps user management away from Operators", () => {
    expect(can("operator", "users.invite")).toBe(false);
    expect(can("operator", "users.update_role")).toBe(false);
    expect(can("operator", "users.remove")).toBe(false);
    expect(can("operator", "users.read")).toBe(true);
  });

  it("lets Operators decide on findings, but leaves SLA settings (organisation settings) to Owners and Admins", () => {
    expect(can("operator", "findings.decide")).toBe(true);
    expect(can("operator", "organization.update")).toBe(false);
    expect(can("auditor", "findings.decide")).toBe(false);
    expect(can("auditor", "vulnerabilities.read")).toBe(true);
  });

  it("lets Operators run rollouts, but not set patch policies or approve a ring's promotion", () => {
    expect(can("operator", "rollouts.manage")).toBe(true);
    expect(can("operator", "patch_policies.manage")).toBe(false);
    expect(can("operator", "rollouts.approve")).toBe(false);
    expect(can("admin", "rollouts.approve")).toBe(true);
    expect(can("auditor", "patching.read")).toBe(true);
    expect(can("auditor", "rollouts.manage")).toBe(false);
  });

  it("gives Owners and Admins every action", () => {
    for (const role of ["owner", "admin"] as const) {
      expect(permissionsOf(role)).toEqual((Object.keys(ACTIONS) as Action[]).sort());
    }
  });

  it("gives every role at least every read action", () => {
    for (const role of ROLES) for (const action of reads) expect(can(role, action)).toBe(true);
  });

  it("reserves the Owner role to Owners", () => {
    expect(mayChangeRole("admin", "operator", "owner")).toBe(false);
    expect(mayChangeRole("admin", "owner", "admin")).toBe(false);
    expect(mayChangeRole("owner", "admin", "owner")).toBe(true);
    expect(mayChangeRole("admin", "operator", "auditor")).toBe(true);
    expect(mayChangeRole("operator", "auditor", "operator")).toBe(false);
    expect(mayRemoveMember("admin", "owner")).toBe(false);
    expect(mayRemoveMember("owner", "owner")).toBe(true);
    expect(mayRemoveMember("admin", "operator")).toBe(true);
    expect(mayInvite("admin", "owner")).toBe(false);
    expect(mayInvite("admin", "auditor")).toBe(true);
    expect(mayInvite("auditor", "auditor")).toBe(false);
  });

  it("lets a role hand an API token only its own role or a lower one", () => {
    expect(mayGrantRole("owner", "owner")).toBe(true);
    expect(mayGrantRole("admin", "owner")).toBe(false);
    expect(mayGrantRole("admin", "admin")).toBe(true);
    expect(mayGrantRole("operator", "admin")).toBe(false);
    expect(mayGrantRole("operator", "auditor")).toBe(true);
    expect(mayGrantRole("auditor", "operator")).toBe(false);
  });

  it("keeps MSP technicians from making API tokens or managing the MSP relation in a client", () => {
    expect(can("msp_tenant_admin", "devices.update")).toBe(true);
    expect(can("msp_tenant_admin", "api_tokens.manage")).toBe(false);
    expect(can("msp_tenant_admin", "msp.manage")).toBe(false);
  });
});
