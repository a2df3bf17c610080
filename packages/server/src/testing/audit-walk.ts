import type { Database } from "../db/database.js";
import type { App } from "../http/app.js";
import { isStateChanging } from "../http/route.js";
import { call, type TestPerson } from "./app.js";
import { callAsAgent } from "./devices.js";

/** How to make one state-changing route succeed: who calls it, where, with what. */
export interface HappyPath {
  as: TestPerson | null;
  url: string;
  body?: unknown;
  /** Agent routes: the bearer token (enrolment or device token) instead of a session. */
  bearer?: string;
  /** Headers beyond the session's (a single sign-on's browser-binding cookie, another site's origin). */
  headers?: Record<string, string>;
  /** The status of success when it is not 2xx (a single sign-on ends in a redirect). */
  status?: number;
}

export type Scenarios = Record<string, () => Promise<HappyPath>>;

export interface AuditGap {
  route: string;
  problem: string;
}

/** Rows in both chains: people's actions are audit events, agents' are device events. */
async function auditRowCount(db: Database): Promise<number> {
  const rows = await db.owner.query<{ n: number }>(
    "SELECT (SELECT count(*) FROM audit_events) + (SELECT count(*) FROM device_events) AS n",
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Calls every state-changing route the router knows on its happy path and reports each one that
 * did not succeed or wrote no audit row. A route with no scenario is a gap too, so a new route
 * cannot be added without showing that it audits.
 */
export async function findUnauditedRoutes(app: App, db: Database, scenarios: Scenarios): Promise<AuditGap[]> {
  const gaps: AuditGap[] = [];
  // Scenarios run in the order they are written (setup first); unknown routes come last.
  const order = Object.keys(scenarios);
  const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
  const routes = app.routeCatalog
    .map((r) => r.route)
    .filter((r) => isStateChanging(r.method))
    .sort((x, y) => rank(`${x.method} ${x.url}`) - rank(`${y.method} ${y.url}`));
  for (const route of routes) {
    const name = `${route.method} ${route.url}`;
    const scenario = scenarios[name];
    if (!scenario) {
      gaps.push({ route: name, problem: "no happy-path scenario: add one to the audit-completeness test" });
      continue;
    }
    const happy = await scenario();
    const before = await auditRowCount(db);
    const body = happy.body !== undefined ? { body: happy.body } : {};
    const response =
      happy.bearer !== undefined
        ? await callAsAgent(app, { method: route.method, url: happy.url, token: happy.bearer, ...body })
        : await call(app, {
            method: route.method,
            url: happy.url,
            as: happy.as,
            ...body,
            ...(happy.headers ? { headers: happy.headers } : {}),
          });
    if (happy.status !== undefined ? response.statusCode !== happy.status : response.statusCode >= 300) {
      gaps.push({ route: name, problem: `the happy path answered ${response.statusCode}: ${response.body}` });
      continue;
    }
    if ((await auditRowCount(db)) <= before)
      gaps.push({ route: name, problem: "succeeded without an audit row" });
  }
  return gaps;
}
