import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { loadConfig } from "../config/config.js";
import { type RunningServer, startServer } from "../server.js";
import { createTestDatabase, type TestDatabase } from "./database.js";

/** The real HTTPS server (own CA, TLS, its database) on a loopback port, as `patchpilot serve` runs it. */
export interface RealServer {
  server: RunningServer;
  dataDir: string;
  port: number;
  url: string;
  caFile: string;
  caPem: string;
  caPin: string;
  /** Stops the server; `restart` starts it again on the same port, data and database. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Stops it for good and removes its data. */
  destroy(): Promise<void>;
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

export async function startRealServer(options: { dataDir?: string } = {}): Promise<RealServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), "pp-real-")));
  const port = await freePort();
  let pg: TestDatabase | null = null;
  if (process.env.DATABASE_URL) pg = await createTestDatabase();
  const env: Record<string, string> = {
    PATCHPILOT_DATA_DIR: dataDir,
    PATCHPILOT_PORT: String(port),
    PATCHPILOT_LOG_LEVEL: "warn",
    PATCHPILOT_FEED_SYNC: "off",
    ...(pg?.url ? { DATABASE_URL: pg.url } : {}),
  };
  const quiet = new Writable({ write: (_c, _e, done) => done() });
  const start = () => startServer(loadConfig(env), quiet);
  let server = await start();
  let running = true;
  const caFile = path.join(dataDir, "tls", "ca.crt");
  const real: RealServer = {
    get server() {
      return server;
    },
    dataDir,
    port,
    url: `https://localhost:${port}`,
    caFile,
    caPem: await readFile(caFile, "utf8"),
    caPin: `sha256/${server.caSpkiSha256}`,
    async stop() {
      if (running) await server.stop();
      running = false;
    },
    async restart() {
      if (running) await server.stop();
      server = await start();
      running = true;
    },
    async destroy() {
      await real.stop();
      await pg?.drop();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return real;
}
