import { ASSIGNABLE_ROLES, isAction } from "@patchpilot/domain";
import type { Database } from "../db/database.js";
import type { App } from "../http/app.js";
import type { RegisteredRoute } from "../http/route.js";
import { call, freshSession, type TestPerson } from "./app.js";
import { callAsAgent } from "./devices.js";
import { type SeededOrg, secretsOf, snapshotDevice, snapshotOrg, type World } from "./world.js";

export interface Leak {
  route: string;
  caller: string;
  url: string;
  problem: string;
}

/** A's identifier for each path parameter a route may have; a new kind of id is added here. */
function identifierFor(param: string, a: SeededOrg): string {
  switch (param) {
    case "userId":
      return a.members.operator.userId;
    case "invitationId":
      return a.invitationId;
    case "sessionId":
      return a.sessionId;
    case "deviceId":
      return a.device.deviceId;
    case "tokenId":
      return a.enrollmentTokenId;
    case "groupId":
      return a.groupId;
    case "findingId":
      return a.findingId;
    // Public knowledge-base data: B may read it, but only with B's own figures.
    case "vulnerabilityId":
      return a.vulnerabilityId;
    case "suppressionId":
      return a.suppressionId;
    case "windowId":
      return a.windowId;
    case "policyId":
      return a.policyId;
    case "rolloutId":
      return a.rolloutId;
    case "apiTokenId":
      return a.apiTokenId;
    case "ruleId":
      return a.alertRuleId;
    // MSP routes name a client organisation: A itself.
    case "clientId":
      return a.organizationId;
    // Public single sign-on routes name the organisation signing in: A itself.
    case "organizationId":
      return a.organizationId;
    default:
      throw new Error(`the isolation harness has no seeded identifier for :${param}; seed one in world.ts`);
  }
}

/** The URLs to try: A's ids everywhere, with the organisation either A's own or the caller's. */
function urlsFor(route: RegisteredRoute, world: World): string[] {
  const params = [...route.url.matchAll(/:(\w+)/g)].map((m) => m[1] ?? "");
  const orgChoices = params.includes("orgId") ? [world.a.organizationId, world.b.organizationId] : [null];
  return orgChoices.map((orgId) =>
    route.url.replace(/:(\w+)/g, (_m, name: string) =>
      name === "orgId" ? (orgId ?? "") : identifierFor(name, world.a),
    ),
  );
}

/**
 * Calls every registered route as each of organisation B's people (every role) against
 * organisation A's identifiers, and reports each answer that carries A's data and each change
 * to A's data. Routes come from the router itself, so a new route is covered without a change
 * here; a route opts out only with a written `isolationExempt` reason.
 */
export async function findCrossTenantLeaks(app: App, db: Database, world: World): Promise<Leak[]> {
  const leaks: Leak[] = [];
  const secrets = secretsOf(world.a);
  for (const registered of app.routeCatalog) {
    const { route } = registered;
    if (route.isolationExempt) continue;
    const before = await snapshotOrg(db, world.a);
    const name = `${route.method} ${route.url}`;
    const agentRoute = route.permission === "device" || route.permission === "enrollment";
    if (agentRoute) leaks.push(...(await agentLeaks(app, registered, world, secrets, "B")));
    // B's people in every role, and the MSP's cases: B's technician, and MSP staff assigned nowhere.
    const callers: { label: string; person: TestPerson }[] = agentRoute
      ? []
      : [
          ...ASSIGNABLE_ROLES.map((role) => ({ label: role, person: world.b.members[role] })),
          { label: "MSP technician of B", person: world.msp.technicianOfB },
          { label: "MSP staff without an assignment", person: world.msp.unassigned },
        ];
    for (const { label: caller, person } of callers) {
      for (const url of urlsFor(registered, world)) {
        // A fresh session each time: routes such as sign-out end the caller's session.
        const as = { ...person, ...(await freshSession(db, person.userId)) };
        const response = await call(app, {
          method: route.method,
          url,
          as,
          ...(route.schema.body ? { body: route.example ?? {} } : {}),
        });
        if (response.statusCode === 401 && route.permission !== "public") {
          // The harness proves nothing if it is not signed in.
          leaks.push({ route: name, caller, url, problem: "the harness's caller was not signed in" });
        }
        if (response.statusCode >= 500) {
          leaks.push({
            route: name,
            caller,
            url,
            problem: `answered ${response.statusCode}: ${response.body}`,
          });
        }
        if (response.statusCode < 300) {
          const found = secrets.find((s) => response.body.includes(s));
          if (found)
            leaks.push({ route: name, caller, url, problem: `answer carries A's ${JSON.stringify(found)}` });
        }
      }
    }
    // B's API token (an Admin's) against A's organisation and ids.
    if (isAction(route.permission)) {
      for (const url of urlsFor(registered, world)) {
        const response = await app.inject({
          method: route.method,
          url,
          headers: { authorization: `Bearer ${world.b.apiToken}` },
          ...(route.schema.body ? { payload: (route.example ?? {}) as Record<string, unknown> } : {}),
        });
        leaks.push(...answerLeaks(name, "B's API token", url, response, secrets));
      }
    }
    if ((await snapshotOrg(db, world.a)) !== before) {
      leaks.push({
        route: name,
        caller: "any of B",
        url: route.url,
        problem: "organisation A's data changed",
      });
    }
    // Within one organisation a device token must not reach another device either. The attempt
    // is recorded on the caller's own device, so here only the target device must stay unchanged.
    if (route.permission === "device") {
      const device = await snapshotDevice(db, world.a.device.deviceId);
      leaks.push(...(await agentLeaks(app, registered, world, secrets, "A's other device")));
      if ((await snapshotDevice(db, world.a.device.deviceId)) !== device) {
        leaks.push({
          route: name,
          caller: "A's other device",
          url: route.url,
          problem: "A's device changed",
        });
      }
    }
  }
  return leaks;
}

/** What an answer must not be: a server error, or a success carrying A's data. */
function answerLeaks(
  route: string,
  caller: string,
  url: string,
  response: { statusCode: number; body: string },
  secrets: string[],
): Leak[] {
  if (response.statusCode >= 500)
    return [{ route, caller, url, problem: `answered ${response.statusCode}: ${response.body}` }];
  if (response.statusCode < 300) {
    const found = secrets.find((s) => response.body.includes(s));
    if (found) return [{ route, caller, url, problem: `answer carries A's ${JSON.stringify(found)}` }];
  }
  return [];
}

/**
 * Agent routes are called with device tokens, not sessions: B's device, and A's other device (a
 * device token must not reach another device of its own organisation either), both against A's
 * first device; enrolment is tried with B's enrolment token.
 */
async function agentLeaks(
  app: App,
  registered: RegisteredRoute,
  world: World,
  secrets: string[],
  who: "B" | "A's other device",
): Promise<Leak[]> {
  const { route } = registered;
  const name = `${route.method} ${route.url}`;
  const callers =
    who === "A's other device"
      ? [{ label: who, token: world.a.otherDevice.token }]
      : route.permission === "enrollment"
        ? [{ label: "B's enrolment token", token: world.b.enrollmentToken }]
        : [{ label: "B's device", token: world.b.device.token }];
  const leaks: Leak[] = [];
  for (const caller of callers) {
    const url = route.url.replace(/:(\w+)/g, (_m, param: string) => identifierFor(param, world.a));
    const response = await callAsAgent(app, {
      method: route.method,
      url,
      token: caller.token,
      ...(route.schema.body ? { body: route.example ?? {} } : {}),
    });
    if (response.statusCode >= 500) {
      leaks.push({
        route: name,
        caller: caller.label,
        url,
        problem: `answered ${response.statusCode}: ${response.body}`,
      });
    }
    if (route.permission === "device" && response.statusCode !== 403) {
      leaks.push({
        route: name,
        caller: caller.label,
        url,
        problem: `answered ${response.statusCode}, not 403`,
      });
    }
    if (response.statusCode < 300) {
      const found = secrets.find((s) => response.body.includes(s));
      if (found)
        leaks.push({
          route: name,
          caller: caller.label,
          url,
          problem: `answer carries A's ${JSON.stringify(found)}`,
        });
    }
  }
  return leaks;
}
