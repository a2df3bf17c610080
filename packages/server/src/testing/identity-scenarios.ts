import { totpCode } from "../identity/two-factor/totp.js";
import { addTestMember, call, createTestOrg, TEST_PASSWORD, type TestApp, type TestPerson } from "./app.js";
import type { Scenarios } from "./audit-walk.js";

/**
 * Waits, if need be, until the current 30-second step has at least `seconds` left, so that codes
 * taken relative to "now" keep their meaning for the server's check a few requests later (a step
 * edge between them would move the previous step's code out of the ±1 window).
 */
export async function awayFromStepEdge(seconds: number): Promise<void> {
  const left = 30 - ((Date.now() / 1000) % 30);
  if (left < seconds) await new Promise((resolve) => setTimeout(resolve, left * 1000 + 50));
}

/** A member of the organisation whose authenticator is enrolled and confirmed (with the previous step's code). */
export async function enrolledTestMember(
  t: TestApp,
  organizationId: string,
): Promise<{ person: TestPerson; secret: string }> {
  await awayFromStepEdge(10);
  const person = await addTestMember(t.db, organizationId, "operator", "two-factor");
  const started = await call(t.app, { method: "POST", url: "/api/v1/me/two-factor/enrollment", as: person });
  const secret = started.json<{ secret: string }>().secret;
  const code = await totpCode(secret, Math.floor(Date.now() / 1000) - 30);
  const confirmed = await call(t.app, {
    method: "POST",
    url: "/api/v1/me/two-factor/confirmation",
    as: person,
    body: { code },
  });
  if (confirmed.statusCode !== 200)
    throw new Error(`confirming a test authenticator failed: ${confirmed.body}`);
  return { person, secret };
}

const now = () => Math.floor(Date.now() / 1000);

/** Happy paths of the identity routes (second factors, API tokens, MSP), for the audit walk. */
export function identityScenarios(t: TestApp, orgId: () => string, me: () => TestPerson): Scenarios {
  const mspOrg = async () => {
    const msp = await createTestOrg(t.db, "Walked MSP");
    await t.db.owner.query("UPDATE organizations SET plan = 'msp' WHERE id = $1", [msp.organizationId]);
    return msp;
  };
  const mspWithClient = async () => {
    const msp = await mspOrg();
    const created = await call(t.app, {
      method: "POST",
      url: `/api/v1/orgs/${msp.organizationId}/msp/clients`,
      as: msp.owner,
      body: { name: `client ${crypto.randomUUID()}` },
    });
    const staff = (await addTestMember(t.db, msp.organizationId, "operator", "msp-staff")).userId;
    return { msp, clientId: created.json().client.id as string, staff };
  };
  return {
    "POST /api/v1/auth/second-factor": async () => {
      const { person, secret } = await enrolledTestMember(t, orgId());
      const signIn = await t.app.inject({
        method: "POST",
        url: "/api/v1/auth/sign-in",
        payload: { email: person.email, password: TEST_PASSWORD },
      });
      return {
        as: null,
        url: "/api/v1/auth/second-factor",
        body: { challenge: signIn.json().challenge, code: await totpCode(secret, now()) },
      };
    },
    "POST /api/v1/me/two-factor/enrollment": async () => ({
      as: await addTestMember(t.db, orgId(), "auditor"),
      url: "/api/v1/me/two-factor/enrollment",
    }),
    "POST /api/v1/me/two-factor/confirmation": async () => {
      const person = await addTestMember(t.db, orgId(), "auditor");
      const started = await call(t.app, {
        method: "POST",
        url: "/api/v1/me/two-factor/enrollment",
        as: person,
      });
      return {
        as: person,
        url: "/api/v1/me/two-factor/confirmation",
        body: { code: await totpCode(started.json().secret, now()) },
      };
    },
    "POST /api/v1/me/two-factor/recovery-codes": async () => {
      const { person, secret } = await enrolledTestMember(t, orgId());
      return {
        as: person,
        url: "/api/v1/me/two-factor/recovery-codes",
        body: { code: await totpCode(secret, now()) },
      };
    },
    "POST /api/v1/me/two-factor/disable": async () => {
      const { person, secret } = await enrolledTestMember(t, orgId());
      return {
        as: person,
        url: "/api/v1/me/two-factor/disable",
        body: { password: TEST_PASSWORD, code: await totpCode(secret, now()) },
      };
    },
    "POST /api/v1/orgs/:orgId/api-tokens": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/api-tokens`,
      body: { name: `walked ${crypto.randomUUID()}`, role: "operator" },
    }),
    "DELETE /api/v1/orgs/:orgId/api-tokens/:apiTokenId": async () => {
      const created = await call(t.app, {
        method: "POST",
        url: `/api/v1/orgs/${orgId()}/api-tokens`,
        as: me(),
        body: { name: `revoked ${crypto.randomUUID()}`, role: "auditor" },
      });
      return { as: me(), url: `/api/v1/orgs/${orgId()}/api-tokens/${created.json().apiToken.id}` };
    },
    "POST /api/v1/orgs/:orgId/msp/clients": async () => {
      const msp = await mspOrg();
      return {
        as: msp.owner,
        url: `/api/v1/orgs/${msp.organizationId}/msp/clients`,
        body: { name: "Walked Client", ownerEmail: "client-owner@example.test" },
      };
    },
    "PUT /api/v1/orgs/:orgId/msp/clients/:clientId/technicians/:userId": async () => {
      const { msp, clientId, staff } = await mspWithClient();
      return {
        as: msp.owner,
        url: `/api/v1/orgs/${msp.organizationId}/msp/clients/${clientId}/technicians/${staff}`,
      };
    },
    "DELETE /api/v1/orgs/:orgId/msp/clients/:clientId/technicians/:userId": async () => {
      const { msp, clientId, staff } = await mspWithClient();
      const url = `/api/v1/orgs/${msp.organizationId}/msp/clients/${clientId}/technicians/${staff}`;
      await call(t.app, { method: "PUT", url, as: msp.owner });
      return { as: msp.owner, url };
    },
    "POST /api/v1/orgs/:orgId/users/:userId/personal-data-export": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/users/${(await addTestMember(t.db, orgId(), "auditor")).userId}/personal-data-export`,
    }),
    "POST /api/v1/orgs/:orgId/users/:userId/erasure": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/users/${(await addTestMember(t.db, orgId(), "auditor")).userId}/erasure`,
    }),
    "PUT /api/v1/orgs/:orgId/security-settings": async () => ({
      as: me(),
      url: `/api/v1/orgs/${orgId()}/security-settings`,
      body: { twoFactorRequired: "off" },
    }),
  };
}
