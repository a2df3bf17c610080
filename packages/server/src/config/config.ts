import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parseEnv } from "node:util";

export interface Config {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly publicUrl: URL;
  readonly databaseUrl: string | null;
  readonly databasePoolSize: number;
  readonly tlsCertFile: string | null;
  readonly tlsKeyFile: string | null;
  /** Addresses or CIDR ranges of reverse proxies whose X-Forwarded-For is believed. */
  readonly trustedProxies: readonly string[];
  readonly logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  readonly securityContact: string;
  /** Largest request body accepted, in bytes. */
  readonly bodyLimit: number;
  /** Server processes sharing the port (PostgreSQL only: the embedded database is in-process). */
  readonly workers: number;
  /** How often agents check in; devices silent for three intervals count as offline. */
  readonly checkInIntervalSeconds: number;
  /** Age at which an agent is asked to rotate its device token. */
  readonly deviceTokenRotationDays: number;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads an EnvironmentFile (the systemd format: KEY=value lines). Its values come before the
 * process environment's, as with systemd. The file holds secrets, so one that its group or others
 * can read is refused rather than used.
 */
export function readEnvironmentFile(file: string): Record<string, string> {
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(
      `${file} is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${JSON.stringify(file)}`,
    );
  }
  const parsed = parseEnv(readFileSync(file, "utf8"));
  return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => e[1] !== undefined));
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Parses the configuration once, at start, into a frozen object. */
export function loadConfig(processEnv: Env = process.env, cwd = process.cwd()): Config {
  const envFile = processEnv.PATCHPILOT_ENV_FILE;
  const env: Env = envFile ? { ...readEnvironmentFile(envFile), ...processEnv } : processEnv;

  const port = integer(env, "PATCHPILOT_PORT", 8443, 0, 65535);
  const host = env.PATCHPILOT_HOST || "127.0.0.1";
  const defaultPublicHost = host === "0.0.0.0" || host === "::" || host === "127.0.0.1" ? "localhost" : host;
  let publicUrl: URL;
  try {
    publicUrl = new URL(env.PATCHPILOT_PUBLIC_URL || `https://${defaultPublicHost}:${port}`);
  } catch {
    throw new ConfigError(`PATCHPILOT_PUBLIC_URL is not a URL: ${JSON.stringify(env.PATCHPILOT_PUBLIC_URL)}`);
  }
  if (publicUrl.protocol !== "https:")
    throw new ConfigError("PATCHPILOT_PUBLIC_URL must start with https://");

  const certFile = env.PATCHPILOT_TLS_CERT_FILE || null;
  const keyFile = env.PATCHPILOT_TLS_KEY_FILE || null;
  if ((certFile === null) !== (keyFile === null)) {
    throw new ConfigError("set both PATCHPILOT_TLS_CERT_FILE and PATCHPILOT_TLS_KEY_FILE, or neither");
  }

  const logLevel = (env.PATCHPILOT_LOG_LEVEL || "info") as Config["logLevel"];
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`PATCHPILOT_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}`);
  }

  const workers = integer(env, "PATCHPILOT_WORKERS", 1, 1, 64);
  if (workers > 1 && !env.DATABASE_URL) {
    throw new ConfigError(
      "PATCHPILOT_WORKERS above 1 needs DATABASE_URL: the embedded database lives inside one process",
    );
  }

  return Object.freeze({
    workers,
    dataDir: path.resolve(cwd, env.PATCHPILOT_DATA_DIR || "data"),
    host,
    port,
    publicUrl,
    databaseUrl: env.DATABASE_URL || null,
    databasePoolSize: integer(env, "PATCHPILOT_DATABASE_POOL_SIZE", 16, 1, 500),
    tlsCertFile: certFile,
    tlsKeyFile: keyFile,
    trustedProxies: Object.freeze(
      (env.PATCHPILOT_TRUSTED_PROXIES || "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
    logLevel,
    securityContact: env.PATCHPILOT_SECURITY_CONTACT || "mailto:security@patchpilot.dev",
    bodyLimit: integer(env, "PATCHPILOT_BODY_LIMIT_BYTES", 64 * 1024, 1024, 64 * 1024 * 1024),
    checkInIntervalSeconds: integer(env, "PATCHPILOT_CHECK_IN_INTERVAL_SECONDS", 60, 5, 86_400),
    deviceTokenRotationDays: integer(env, "PATCHPILOT_DEVICE_TOKEN_ROTATION_DAYS", 30, 1, 3650),
  });
}
