import type { ServerOptions } from "node:https";
import { auditRoutes } from "./audit/routes.js";
import { type ComplianceCapability, createComplianceCapability } from "./compliance/capability.js";
import type { Config } from "./config/config.js";
import { loadConsoleFiles } from "./console/console-files.js";
import { consoleRoutes } from "./console/routes.js";
import type { Database } from "./db/database.js";
import { createDevicesCapability, type DevicesCapability } from "./devices/capability.js";
import { type App, buildApp } from "./http/app.js";
import type { RouteDefinition } from "./http/route.js";
import { accountRoutes } from "./identity/account-routes.js";
import { apiTokenRoutes } from "./identity/api-tokens/routes.js";
import { gdprRoutes } from "./identity/gdpr/routes.js";
import { ssoRoutes } from "./identity/sso/routes.js";
import { twoFactorRoutes } from "./identity/two-factor/routes.js";
import { usersRoutes } from "./identity/users-routes.js";
import { JobRunner } from "./jobs/job-runner.js";
import { mspRoutes } from "./msp/routes.js";
import type { AlertsCapability } from "./ops/alerts/capability.js";
import { createOpsCapability } from "./ops/capability.js";
import { opsRoutes } from "./ops/routes.js";
import { organizationRoutes } from "./organizations/routes.js";
import { createPatchingCapability, type PatchingCapability } from "./patching/capability.js";
import { openSecretBox, type SecretBox } from "./secrets/secret-box.js";
import { createVulnsCapability, type VulnsCapability } from "./vulns/capability.js";

export interface ServerDeps {
  db: Database;
  config: Config;
  https?: ServerOptions;
  logStream?: NodeJS.WritableStream;
  /** How the server reaches identity providers for single sign-on; the default is the global fetch. */
  ssoFetch?: typeof fetch;
}

declare module "fastify" {
  interface FastifyInstance {
    /** The devices capability's in-memory parts (agent sessions, presence), for tests and benchmarks. */
    readonly devices: DevicesCapability;
    /** The vulnerability capability's matcher, index and job runner, for tests and benchmarks. */
    readonly vulns: VulnsCapability;
    readonly patching: PatchingCapability;
    readonly jobs: JobRunner;
    readonly secrets: SecretBox;
    readonly compliance: ComplianceCapability;
    /** Alert rules' evaluation and the delivery of their notices, for tests. */
    readonly alerts: AlertsCapability;
  }
}

/** Composes the capabilities into one application; each capability owns its routes. */
export async function createApp(deps: ServerDeps, extraRoutes: RouteDefinition[] = []): Promise<App> {
  let app: App | null = null;
  // Stored secrets (SIEM credentials, SSO client secrets, second factors) are sealed with this.
  const secrets = await openSecretBox(deps.config);
  const devices = createDevicesCapability(
    deps.db,
    {
      checkInIntervalSeconds: deps.config.checkInIntervalSeconds,
      tokenRotationDays: deps.config.deviceTokenRotationDays,
    },
    (error, message) => app?.log.error({ err: error }, message),
  );
  const logError = (error: unknown, message: string) => app?.log.error({ err: error }, message);
  // One job runner per process, for every capability's background work.
  const jobs = new JobRunner(deps.db, logError);
  const vulns = createVulnsCapability(deps.db, devices, jobs, deps.config, {
    info: (message, details) => app?.log.info(details ?? {}, message),
    warn: (message, details) => app?.log.warn(details ?? {}, message),
    error: logError,
  });
  const patching = createPatchingCapability(deps.db, devices, jobs, logError);
  const compliance = createComplianceCapability(
    deps.db,
    jobs,
    secrets,
    { warn: (message, details) => app?.log.warn(details ?? {}, message) },
    { platformRetentionDays: deps.config.platformAuditRetentionDays },
  );
  const ops = createOpsCapability(
    deps.db,
    jobs,
    deps.config,
    {
      info: (m) => app?.log.info(m),
      error: logError,
      warn: (message, details) => app?.log.warn(details ?? {}, message),
    },
    secrets,
  );
  const routes: RouteDefinition[] = [
    ...opsRoutes(deps.db, deps.config, () => app?.swagger()),
    ...accountRoutes(deps.db),
    ...organizationRoutes(deps.db),
    ...usersRoutes(deps.db, deps.config),
    ...auditRoutes(deps.db),
    ...devices.routes,
    ...vulns.routes,
    ...patching.routes,
    ...twoFactorRoutes(deps.db, secrets),
    ...apiTokenRoutes(deps.db),
    ...mspRoutes(deps.db),
    ...gdprRoutes(deps.db),
    ...ssoRoutes({
      db: deps.db,
      config: deps.config,
      secrets,
      ...(deps.ssoFetch ? { fetch: deps.ssoFetch } : {}),
    }),
    ...consoleRoutes(deps.db, deps.config, await loadConsoleFiles()),
    ...compliance.routes,
    ...ops.routes,
    ...extraRoutes,
  ];
  app = await buildApp(
    {
      ...deps,
      deviceAuthenticator: devices.authenticateDevice,
      cachedDevice: (token, deviceId) => devices.sessions.cached(token, deviceId),
    },
    routes,
  );
  app.decorate("devices", devices);
  app.decorate("vulns", vulns);
  app.decorate("patching", patching);
  app.decorate("jobs", jobs);
  app.decorate("secrets", secrets);
  app.decorate("compliance", compliance);
  app.decorate("alerts", ops.alerts);
  ops.metrics.attach(app);
  app.addHook("onReady", async () => {
    if (!deps.config.backgroundWork) return;
    devices.start();
    vulns.start();
    patching.start();
    compliance.start();
    ops.alerts.start();
    jobs.start();
  });
  app.addHook("preClose", async () => {
    await jobs.stop();
    await compliance.stop();
    await ops.alerts.stop();
    await patching.stop();
    await devices.stop();
    await vulns.stop();
  });
  return app;
}
