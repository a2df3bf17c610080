import type { ServerOptions } from "node:https";
import { auditRoutes } from "./audit/routes.js";
import type { Config } from "./config/config.js";
import type { Database } from "./db/database.js";
import { createDevicesCapability, type DevicesCapability } from "./devices/capability.js";
import { type App, buildApp } from "./http/app.js";
import type { RouteDefinition } from "./http/route.js";
import { accountRoutes } from "./identity/account-routes.js";
import { usersRoutes } from "./identity/users-routes.js";
import { opsRoutes } from "./ops/routes.js";
import { organizationRoutes } from "./organizations/routes.js";
import { createVulnsCapability, type VulnsCapability } from "./vulns/capability.js";

export interface ServerDeps {
  db: Database;
  config: Config;
  https?: ServerOptions;
  logStream?: NodeJS.WritableStream;
}

declare module "fastify" {
  interface FastifyInstance {
    /** The devices capability's in-memory parts (agent sessions, presence), for tests and benchmarks. */
    readonly devices: DevicesCapability;
    /** The vulnerability capability's matcher, index and job runner, for tests and benchmarks. */
    readonly vulns: VulnsCapability;
  }
}

/** Composes the capabilities into one application; each capability owns its routes. */
export async function createApp(deps: ServerDeps, extraRoutes: RouteDefinition[] = []): Promise<App> {
  let app: App | null = null;
  const devices = createDevicesCapability(
    deps.db,
    {
      checkInIntervalSeconds: deps.config.checkInIntervalSeconds,
      tokenRotationDays: deps.config.deviceTokenRotationDays,
    },
    (error, message) => app?.log.error({ err: error }, message),
  );
  const vulns = createVulnsCapability(deps.db, devices, deps.config, {
    info: (message, details) => app?.log.info(details ?? {}, message),
    warn: (message, details) => app?.log.warn(details ?? {}, message),
    error: (error, message) => app?.log.error({ err: error }, message),
  });
  const routes: RouteDefinition[] = [
    ...opsRoutes(deps.db, deps.config, () => app?.swagger()),
    ...accountRoutes(deps.db),
    ...organizationRoutes(deps.db),
    ...usersRoutes(deps.db, deps.config),
    ...auditRoutes(deps.db),
    ...devices.routes,
    ...vulns.routes,
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
  app.addHook("onReady", async () => {
    if (!deps.config.backgroundWork) return;
    devices.start();
    vulns.start();
  });
  app.addHook("preClose", async () => {
    await devices.stop();
    await vulns.stop();
  });
  return app;
}
