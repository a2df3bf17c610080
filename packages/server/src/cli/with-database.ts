import { mkdir } from "node:fs/promises";
import { type Config, loadConfig } from "../config/config.js";
import type { Database } from "../db/database.js";
import { migrateWithBackup, type UpgradeOptions } from "../ops/backup/upgrade-guard.js";
import { openConfiguredDatabase } from "../server.js";

/** Opens the configured database for one command, migrating it first, and closes it after. */
export async function withDatabase<T>(
  work: (db: Database, config: Config, applied: string[]) => Promise<T>,
  upgrade: UpgradeOptions = {},
): Promise<T> {
  const config = loadConfig();
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const db = await openConfiguredDatabase(config, { migrate: false });
  try {
    // A database with data is backed up (and the backup verified) before it is migrated.
    const applied = await migrateWithBackup(db, config, upgrade);
    return await work(db, config, applied);
  } finally {
    await db.close();
  }
}

export const CLI_CONTEXT = {
  actor: { type: "system" as const, id: "cli" },
  requestId: null,
  ip: null,
  userAgent: null,
};

/** A secret from an environment variable, or the first line of standard input; never an argument. */
export async function readSecret(envName: string, prompt: string): Promise<string> {
  const fromEnv = process.env[envName];
  if (fromEnv) return fromEnv;
  if (process.stdin.isTTY) process.stderr.write(prompt);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(Buffer.from(chunk));
    if (Buffer.concat(chunks).includes(10)) break;
  }
  const line = Buffer.concat(chunks).toString("utf8").split(/\r?\n/)[0] ?? "";
  if (!line) throw new Error(`no password given: set ${envName} or pipe it on standard input`);
  return line;
}
