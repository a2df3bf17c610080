import { mkdir } from "node:fs/promises";
import path from "node:path";
import { createApp } from "./capabilities.js";
import type { Config } from "./config/config.js";
import type { Database } from "./db/database.js";
import { openDatabase } from "./db/open.js";
import { assertIsolationEnforced } from "./db/tenant-isolation.js";
import type { App } from "./http/app.js";
import { issueSetupToken } from "./organizations/setup.js";
import { ensureTlsMaterial } from "./tls/certificate-authority.js";
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

/**
 * Starts PatchPilot: data directory, database (migrated), the isolation check that refuses to
 * serve on an unsafe database role, TLS material, and the HTTPS listener.
 */
export async function startServer(config: Config, logStream?: NodeJS.WritableStream): Promise<RunningServer> {
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const db = await openConfiguredDatabase(config);
  try {
    await assertIsolationEnforced(db.owner.query);
    const hostnames = [config.publicUrl.hostname.replace(/^\[|\]$/g, "")];
    if (!WILDCARD_HOSTS.has(config.host)) hostnames.push(config.host);
    const tls = await ensureTlsMaterial({
      tlsDir: path.join(config.dataDir, "tls"),
      hostnames,
      ...(config.tlsCertFile && config.tlsKeyFile
        ? { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile }
        : {}),
    });
    const app = await createApp({
      db,
      config,
      https: httpsServerOptions(tls),
      ...(logStream ? { logStream } : {}),
    });
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    const base = new URL(config.publicUrl);
    if (config.port === 0 || base.port === "") base.port = String(port);
    const setupToken = await issueSetupToken(db, {
      actor: { type: "system", id: null },
      requestId: null,
      ip: null,
      userAgent: null,
    });
    return {
      app,
      db,
      url: base.origin,
      caSpkiSha256: tls.caSpkiSha256,
      // In the fragment, so the token is never sent to the server in a URL or written to a log.
      setupUrl: setupToken ? `${base.origin}/setup#${setupToken}` : null,
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
