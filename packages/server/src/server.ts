import { mkdir } from "node:fs/promises";
import path from "node:path";
import { createApp } from "./capabilities.js";
import type { Config } from "./config/config.js";
import type { Database } from "./db/database.js";
import { pendingMigrations } from "./db/migrate.js";
import { openDatabase } from "./db/open.js";
import { assertIsolationEnforced } from "./db/tenant-isolation.js";
import type { App } from "./http/app.js";
import { migrateWithBackup, type UpgradeOptions } from "./ops/backup/upgrade-guard.js";
import { issueSetupToken } from "./organizations/setup.js";
import { ensureTlsMaterial, type TlsMaterial } from "./tls/certificate-authority.js";
import { httpsServerOptions } from "./tls/server-options.js";

export interface RunningServer {
  app: App;
  db: Database;
  url: string;
  caSpkiSha256: string | null;
  setupUrl: string | null;
  stop(): Promise<void>;
}

export function openConfiguredDatabase(
  config: Config,
  options: { migrate?: boolean } = {},
): Promise<Database> {
  return openDatabase({
    databaseUrl: config.databaseUrl,
    pgliteDir: path.join(config.dataDir, "pgdata"),
    poolSize: config.databasePoolSize,
    migrate: options.migrate ?? true,
  });
}

const WILDCARD_HOSTS = new Set(["0.0.0.0", "::", ""]);

function tlsMaterialFor(config: Config): Promise<TlsMaterial> {
  const hostnames = [config.publicUrl.hostname.replace(/^\[|\]$/g, "")];
  if (!WILDCARD_HOSTS.has(config.host)) hostnames.push(config.host);
  return ensureTlsMaterial({
    tlsDir: path.join(config.dataDir, "tls"),
    hostnames,
    ...(config.tlsCertFile && config.tlsKeyFile
      ? { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile }
      : {}),
  });
}

const STARTUP_CONTEXT = {
  actor: { type: "system" as const, id: null },
  requestId: null,
  ip: null,
  userAgent: null,
};

/**
 * What the first process does once for a group of server processes: migrate, check isolation,
 * make the TLS material and, while there is no organisation, a setup token.
 */
export async function prepareServers(
  config: Config,
  upgrade: UpgradeOptions = {},
): Promise<{ caSpkiSha256: string | null; setupToken: string | null }> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const db = await openConfiguredDatabase(config, { migrate: false });
  try {
    await migrateWithBackup(db, config, upgrade);
    await assertIsolationEnforced(db.owner.query);
    const tls = await tlsMaterialFor(config);
    return { caSpkiSha256: tls.caSpkiSha256, setupToken: await issueSetupToken(db, STARTUP_CONTEXT) };
  } finally {
    await db.close();
  }
}

/**
 * Starts PatchPilot: data directory, database (migrated), the isolation check that refuses to
 * serve on an unsafe database role, TLS material, and the HTTPS listener. A `worker` is one of
 * several processes sharing the port after `prepareServers` ran: it migrates nothing (it refuses
 * a schema that is not current) and issues no setup token.
 */
export async function startServer(
  config: Config,
  logStream?: NodeJS.WritableStream,
  role: "single" | "worker" = "single",
  upgrade: UpgradeOptions = {},
): Promise<RunningServer> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const db = await openConfiguredDatabase(config, { migrate: false });
  try {
    // A new version with pending migrations backs up (and verifies) before it migrates.
    if (role === "single") await migrateWithBackup(db, config, upgrade);
    if (role === "worker" && (await pendingMigrations(db.owner)).length > 0) {
      throw new Error("the database schema is not current; the first process applies migrations");
    }
    await assertIsolationEnforced(db.owner.query);
    const tls = await tlsMaterialFor(config);
    const app = await createApp({
      db,
      config,
      https: httpsServerOptions(tls),
      ...(logStream ? { logStream } : {}),
    });
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    const setupToken = role === "single" ? await issueSetupToken(db, STARTUP_CONTEXT) : null;
    return {
      app,
      db,
      url: publicOrigin(config, port),
      caSpkiSha256: tls.caSpkiSha256,
      setupUrl: setupToken ? setupLink(config, port, setupToken) : null,
      stop: async () => {
        await app.close();
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}

export function publicOrigin(config: Config, port: number): string {
  const base = new URL(config.publicUrl);
  if (config.port === 0 || base.port === "") base.port = String(port);
  return base.origin;
}

/** In the fragment, so the token is never sent to the server in a URL or written to a log. */
export function setupLink(config: Config, port: number, token: string): string {
  return `${publicOrigin(config, port)}/setup#${token}`;
}
