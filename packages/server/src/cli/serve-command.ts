import cluster from "node:cluster";
import { Command } from "commander";
import { type Config, loadConfig } from "../config/config.js";
import type { UpgradeOptions } from "../ops/backup/upgrade-guard.js";
import { prepareServers, publicOrigin, type RunningServer, setupLink, startServer } from "../server.js";
import { withDatabase } from "./with-database.js";

const SKIP_FLAG = "--skip-backup-before-upgrade";
const SKIP_HELP =
  "apply pending migrations without the backup that otherwise comes first (logged and recorded)";

function banner(config: Config, url: string, caSpkiSha256: string | null, setupUrl: string | null): string {
  const lines = [
    "",
    `PatchPilot is running at ${url}`,
    caSpkiSha256
      ? `Agents pin this server's root CA: sha256/${caSpkiSha256} (${config.dataDir}/tls/ca.crt)`
      : "Using the configured TLS certificate.",
    `Database: ${config.databaseUrl ? "PostgreSQL (DATABASE_URL)" : `embedded, in ${config.dataDir}/pgdata`}`,
  ];
  if (config.workers > 1) lines.push(`Server processes: ${config.workers}`);
  if (setupUrl) {
    lines.push(
      "",
      "Create the first organisation and its Owner with this one-time link (valid 24 hours):",
      `  ${setupUrl}`,
    );
  }
  return `${lines.join("\n")}\n\n`;
}

/** Stops on SIGTERM or SIGINT once, after `stop` has finished the requests in flight. */
function onShutdown(stop: () => Promise<void>, log: (message: string) => void): void {
  let stopping = false;
  const handle = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: shutting down, finishing requests in flight`);
    stop()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        log(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      });
  };
  process.once("SIGTERM", () => handle("SIGTERM"));
  process.once("SIGINT", () => handle("SIGINT"));
}

async function serveOneProcess(config: Config, upgrade: UpgradeOptions): Promise<void> {
  const server: RunningServer = await startServer(config, undefined, "single", upgrade);
  process.stdout.write(banner(config, server.url, server.caSpkiSha256, server.setupUrl));
  onShutdown(server.stop, (m) => server.app.log.info(m));
}

/**
 * Several processes on one port (node:cluster), for PostgreSQL: the first prepares once
 * (migrations, TLS material, setup link), then starts the workers and replaces any that dies.
 */
async function servePrimary(config: Config, upgrade: UpgradeOptions): Promise<void> {
  const prepared = await prepareServers(config, upgrade);
  let stopping = false;
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) return;
    process.stderr.write(
      `server process ${worker.process.pid} ended (${signal ?? code}); starting another\n`,
    );
    cluster.fork();
  });
  cluster.once("listening", (_worker, address) => {
    const port = address.port;
    const setupUrl = prepared.setupToken ? setupLink(config, port, prepared.setupToken) : null;
    process.stdout.write(banner(config, publicOrigin(config, port), prepared.caSpkiSha256, setupUrl));
  });
  for (let i = 0; i < config.workers; i++) cluster.fork();
  onShutdown(
    async () => {
      stopping = true;
      const workers = Object.values(cluster.workers ?? {});
      await Promise.all(
        workers.map(
          (worker) =>
            new Promise<void>((resolve) => {
              if (!worker || worker.isDead()) return resolve();
              worker.once("exit", () => resolve());
              worker.process.kill("SIGTERM");
            }),
        ),
      );
    },
    (m) => process.stderr.write(`${m}\n`),
  );
}

async function serveWorker(config: Config): Promise<void> {
  const server = await startServer(config, undefined, "worker");
  onShutdown(server.stop, (m) => server.app.log.info(m));
}

export function serveCommand(): Command {
  return new Command("serve")
    .description("run the HTTPS server (applies pending migrations first)")
    .addHelpText(
      "after",
      "\nWith DATABASE_URL, PATCHPILOT_WORKERS=N runs N server processes on the one port.",
    )
    .option(SKIP_FLAG, SKIP_HELP)
    .action(async (opts: { skipBackupBeforeUpgrade?: boolean }) => {
      const config = loadConfig();
      const upgrade = { skipBackup: opts.skipBackupBeforeUpgrade === true };
      if (config.workers === 1) return serveOneProcess(config, upgrade);
      return cluster.isPrimary ? servePrimary(config, upgrade) : serveWorker(config);
    });
}

export function migrateCommand(): Command {
  return new Command("migrate")
    .description(
      "apply pending database migrations and exit (after a verified backup, on a database with data)",
    )
    .option(SKIP_FLAG, SKIP_HELP)
    .action(async (opts: { skipBackupBeforeUpgrade?: boolean }) => {
      await withDatabase(
        async (_db, _config, applied) => {
          process.stdout.write(
            applied.length ? `applied: ${applied.join(", ")}\n` : "the schema is up to date\n",
          );
        },
        { skipBackup: opts.skipBackupBeforeUpgrade === true },
      );
    });
}
