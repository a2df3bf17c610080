import { Command } from "commander";
import { loadConfig } from "../config/config.js";
import { startServer } from "../server.js";
import { withDatabase } from "./with-database.js";

export function serveCommand(): Command {
  return new Command("serve")
    .description("run the HTTPS server (applies pending migrations first)")
    .action(async () => {
      const config = loadConfig();
      const server = await startServer(config);
      const lines = [
        "",
        `PatchPilot is running at ${server.url}`,
        server.caSpkiSha256
          ? `Agents pin this server's root CA: sha256/${server.caSpkiSha256} (${config.dataDir}/tls/ca.crt)`
          : "Using the configured TLS certificate.",
        `Database: ${config.databaseUrl ? "PostgreSQL (DATABASE_URL)" : `embedded, in ${config.dataDir}/pgdata`}`,
      ];
      if (server.setupUrl) {
        lines.push(
          "",
          "Create the first organisation and its Owner with this one-time link (valid 24 hours):",
          `  ${server.setupUrl}`,
        );
      }
      process.stdout.write(`${lines.join("\n")}\n\n`);
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        server.app.log.info({ signal }, "shutting down: finishing requests in flight");
        server
          .stop()
          .then(() => process.exit(0))
          .catch((error: unknown) => {
            server.app.log.error({ err: error }, "shutdown failed");
            process.exit(1);
          });
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    });
}

export function migrateCommand(): Command {
  return new Command("migrate").description("apply pending database migrations and exit").action(async () => {
    await withDatabase(async (_db, _config, applied) => {
      process.stdout.write(
        applied.length ? `applied: ${applied.join(", ")}\n` : "the schema is up to date\n",
      );
    });
  });
}
