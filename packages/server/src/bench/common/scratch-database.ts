import { randomBytes } from "node:crypto";
import pg from "pg";

export interface ScratchDatabase {
  url: string;
  /** The database's name (pp_bench_…), e.g. to tell its PostgreSQL backends from others'. */
  name: string;
  serverVersion: string;
  /** Settings that bound the commit rate of durable writes. */
  durability: string;
  drop(): Promise<void>;
}

/**
 * A throw-away database on the PostgreSQL server, so the bench never touches real data. Its drop
 * is registered with `onInterrupt` as soon as it exists, so Ctrl-C does not leave it behind.
 */
export async function createScratchDatabase(
  serverUrl: string,
  onInterrupt: (cleanup: () => Promise<void>) => () => void,
): Promise<ScratchDatabase> {
  const name = `pp_bench_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
  await admin.connect();
  let serverVersion: string;
  let durability: string;
  try {
    const version = await admin.query<{ server_version: string }>("SHOW server_version");
    serverVersion = version.rows[0]?.server_version ?? "unknown";
    const settings = await admin.query<{ name: string; setting: string }>(
      "SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method')" +
        " ORDER BY name",
    );
    durability = settings.rows.map((r) => `${r.name}=${r.setting}`).join(", ");
    // The name is made here from hex digits only, so it is safe as an identifier.
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const drop = async () => {
    const cleanup = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
    await cleanup.connect();
    try {
      await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await cleanup.end();
    }
  };
  const unregister = onInterrupt(drop);
  return {
    url: url.toString(),
    name,
    serverVersion,
    durability,
    drop: async () => {
      await drop();
      unregister();
    },
  };
}

/** The URL with its password masked, for reports and messages. */
export function redactUrl(raw: string): string {
  const url = new URL(raw);
  if (url.password) url.password = "***";
  return url.toString();
}
