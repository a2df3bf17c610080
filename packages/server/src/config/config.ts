import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import { inspect, parseEnv } from "node:util";

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
  /**
   * Whether this process runs background work (matching, jobs, presence and signal polling).
   * Off only for tests that need the database to stand still.
   */
  readonly backgroundWork: boolean;
  /** Whether feeds are fetched from the internet on schedule (off for air-gapped sites: import them). */
  readonly feedSync: boolean;
  /** Hours between two scheduled syncs of the advisory feeds. */
  readonly feedSyncHours: number;
  /** NVD API key: NVD allows 50 requests per 30 seconds with one, 5 without. */
  readonly nvdApiKey: Secret | null;
  /** The key sealing stored secrets (base64, 32 bytes), or a file holding it; else data dir/secret.key. */
  readonly secretKey: Secret | null;
  readonly secretKeyFile: string | null;
  /** OSV ecosystems synced, each as its own feed (`osv:Debian`). */
  readonly osvEcosystems: readonly string[];
  /** Alpine releases whose secdb files are synced. */
  readonly alpineReleases: readonly string[];
  /** Where each feed is fetched from: the public source by default, or a mirror. */
  readonly feedUrls: FeedUrls;
  /** Backups: the passphrase (or a file holding it), never stored in the database. */
  readonly backupPassphrase: Secret | null;
  readonly backupPassphraseFile: string | null;
  /** Where backups are written, and the separate second place each one is copied to. */
  readonly backupDir: string;
  readonly backupCopyDir: string | null;
  /** Hours between scheduled backups (the RPO); 0 turns the schedule off. */
  readonly backupIntervalHours: number;
  /** `days`: keep backups this many days; `gfs`: 14 daily, 8 weekly, 12 monthly. */
  readonly backupRetention: "days" | "gfs";
  readonly backupKeepDays: number;
  /** Days between restore tests of the newest backup; 0 turns them off. */
  readonly restoreTestDays: number;
  /** An S3-compatible bucket each verified backup is uploaded to, or null. */
  readonly backupS3: BackupS3Config | null;
  /** Bearer token a Prometheus scraper sends to /metrics; without one, /metrics answers loopback only. */
  readonly metricsToken: Secret | null;
  /** Days the platform audit chain (events of no organisation) is kept before retention removes them. */
  readonly platformAuditRetentionDays: number;
  /** Alert e-mail: the SMTP server as a URL (smtp:// or smtps://, may hold credentials), or null. */
  readonly smtpUrl: Secret | null;
  /** The From address of alert e-mail. */
  readonly smtpFrom: string;
  /** Seconds between two evaluations of the alert rules. */
  readonly alertEvaluationSeconds: number;
  /** Whether alert webhooks may go to loopback addresses (over http too): single-host setups and tests. */
  readonly alertWebhookLoopback: boolean;
}

/** The document (KEV, EPSS, NVD, Debian) or the base that paths are added to (OSV, Alpine, MSRC). */
export interface FeedUrls {
  readonly nvd: string;
  readonly kev: string;
  readonly epss: string;
  readonly osv: string;
  readonly debian: string;
  readonly alpine: string;
  readonly msrc: string;
}

export const DEFAULT_FEED_URLS: FeedUrls = Object.freeze({
  nvd: "https://services.nvd.nist.gov/rest/json/cves/2.0",
  kev: "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
  epss: "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz",
  osv: "https://osv-vulnerabilities.storage.googleapis.com/",
  debian: "https://security-tracker.debian.org/tracker/data/json",
  alpine: "https://secdb.alpinelinux.org/",
  msrc: "https://api.msrc.microsoft.com/cvrf/v3.0/",
});

/** Sources whose URL is a base that paths are added to, so it must end with a slash. */
const BASE_URLS: ReadonlySet<keyof FeedUrls> = new Set(["osv", "alpine", "msrc"]);

export const DEFAULT_OSV_ECOSYSTEMS: readonly string[] = Object.freeze([
  "Debian",
  "Ubuntu",
  "Alpine",
  "Red Hat",
  "Rocky Linux",
  "AlmaLinux",
  "SUSE",
  "npm",
  "PyPI",
  "Maven",
  "Go",
  "crates.io",
  "NuGet",
]);

export const DEFAULT_ALPINE_RELEASES: readonly string[] = Object.freeze([
  "v3.18",
  "v3.19",
  "v3.20",
  "v3.21",
  "v3.22",
]);

/**
 * A setting that must never be printed. JSON, util.inspect (and so every logger) and string
 * conversion all show `[redacted]`; only `reveal()` gives the value, at the one place that sends it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return "[redacted]";
  }

  toJSON(): string {
    return "[redacted]";
  }

  [inspect.custom](): string {
    return "[redacted]";
  }
}

export interface BackupS3Config {
  /** The service's URL (https://minio.example:9000); null for AWS's own endpoint of the region. */
  readonly endpoint: string | null;
  readonly bucket: string;
  /** Key prefix inside the bucket, empty or ending in "/". */
  readonly prefix: string;
  readonly region: string;
  /** Bucket in the path (host/bucket/key) instead of the host name; most non-AWS services need it. */
  readonly pathStyle: boolean;
  readonly accessKeyId: string;
  /** The secret access key, or a file (mode 0600) holding it; one of the two is set. */
  readonly secretAccessKey: Secret | null;
  readonly secretAccessKeyFile: string | null;
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

function onOff(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (raw === "on" || raw === "true" || raw === "1") return true;
  if (raw === "off" || raw === "false" || raw === "0") return false;
  throw new ConfigError(`${name} must be on or off, got ${JSON.stringify(raw)}`);
}

/** A comma-separated list, each item checked; unset or empty gives the default, `none` an empty list. */
function list(
  env: Env,
  name: string,
  fallback: readonly string[],
  valid: RegExp,
  what: string,
): readonly string[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  if (raw.trim() === "none") return Object.freeze([]);
  const items = [
    ...new Set(
      raw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  const bad = items.find((item) => !valid.test(item));
  if (bad !== undefined) throw new ConfigError(`${name}: ${JSON.stringify(bad)} is not ${what}`);
  return Object.freeze(items);
}

/** An http(s) URL without credentials (it appears in messages); a base URL ends with a slash. */
function feedUrl(env: Env, source: keyof FeedUrls): string {
  const name = `PATCHPILOT_FEED_URL_${source.toUpperCase()}`;
  const raw = env[name];
  if (raw === undefined || raw === "") return DEFAULT_FEED_URLS[source];
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new ConfigError(`${name} must start with https:// or http://`);
  if (url.username !== "" || url.password !== "") {
    throw new ConfigError(
      `${name} must not hold a user name or password (URLs appear in logs and feed errors)`,
    );
  }
  if (BASE_URLS.has(source) && !url.pathname.endsWith("/")) url.pathname += "/";
  return url.toString();
}

/** NVD issues UUIDs; anything else is refused without repeating it, since it is a secret. */
function nvdApiKey(env: Env): Secret | null {
  const raw = env.PATCHPILOT_NVD_API_KEY?.trim();
  if (raw === undefined || raw === "") return null;
  if (!/^[A-Za-z0-9-]{8,128}$/.test(raw)) {
    throw new ConfigError("PATCHPILOT_NVD_API_KEY must be the key NVD issued (letters, digits and dashes)");
  }
  return new Secret(raw);
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
    backgroundWork: onOff(env, "PATCHPILOT_BACKGROUND_WORK", true),
    feedSync: onOff(env, "PATCHPILOT_FEED_SYNC", true),
    feedSyncHours: integer(env, "PATCHPILOT_FEED_SYNC_HOURS", 6, 1, 168),
    nvdApiKey: nvdApiKey(env),
    secretKey: env.PATCHPILOT_SECRET_KEY ? new Secret(env.PATCHPILOT_SECRET_KEY) : null,
    secretKeyFile: env.PATCHPILOT_SECRET_KEY_FILE ? path.resolve(cwd, env.PATCHPILOT_SECRET_KEY_FILE) : null,
    osvEcosystems: list(
      env,
      "PATCHPILOT_OSV_ECOSYSTEMS",
      DEFAULT_OSV_ECOSYSTEMS,
      /^[A-Za-z0-9][A-Za-z0-9 .:_-]{0,63}$/,
      "an OSV ecosystem name (Debian, PyPI, crates.io, …)",
    ),
    alpineReleases: list(
      env,
      "PATCHPILOT_ALPINE_RELEASES",
      DEFAULT_ALPINE_RELEASES,
      /^(?:v\d+\.\d+|edge)$/,
      "an Alpine release (v3.20, edge)",
    ),
    feedUrls: Object.freeze({
      nvd: feedUrl(env, "nvd"),
      kev: feedUrl(env, "kev"),
      epss: feedUrl(env, "epss"),
      osv: feedUrl(env, "osv"),
      debian: feedUrl(env, "debian"),
      alpine: feedUrl(env, "alpine"),
      msrc: feedUrl(env, "msrc"),
    }),
    ...backupSettings(env, cwd),
    platformAuditRetentionDays: integer(env, "PATCHPILOT_PLATFORM_AUDIT_RETENTION_DAYS", 365, 30, 36_500),
    ...alertSettings(env, publicUrl),
  });
}

function alertSettings(env: Env, publicUrl: URL) {
  let smtpUrl: Secret | null = null;
  const raw = env.PATCHPILOT_SMTP_URL || "";
  const host = env.PATCHPILOT_SMTP_HOST || "";
  if (raw !== "" && host !== "")
    throw new ConfigError("set PATCHPILOT_SMTP_URL or PATCHPILOT_SMTP_HOST, not both");
  if (raw !== "") {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      // The URL may hold a password: it is not repeated.
      throw new ConfigError(
        "PATCHPILOT_SMTP_URL is not a URL (smtp://user:password@host:587 or smtps://…:465)",
      );
    }
    if (url.protocol !== "smtp:" && url.protocol !== "smtps:")
      throw new ConfigError("PATCHPILOT_SMTP_URL must start with smtp:// or smtps://");
    smtpUrl = new Secret(raw);
  } else if (host !== "") {
    if (!/^[A-Za-z0-9.:[\]-]{1,253}$/.test(host))
      throw new ConfigError("PATCHPILOT_SMTP_HOST is not a host name");
    const port = integer(env, "PATCHPILOT_SMTP_PORT", 587, 1, 65535);
    smtpUrl = new Secret(`${port === 465 ? "smtps" : "smtp"}://${host}:${port}`);
  }
  const from = env.PATCHPILOT_SMTP_FROM || `PatchPilot <patchpilot@${publicUrl.hostname}>`;
  if (from.length > 254 || /[\r\n]/.test(from))
    throw new ConfigError("PATCHPILOT_SMTP_FROM is not an address");
  return {
    smtpUrl,
    smtpFrom: from,
    alertEvaluationSeconds: integer(env, "PATCHPILOT_ALERT_EVALUATION_SECONDS", 60, 60, 86_400),
    alertWebhookLoopback: onOff(env, "PATCHPILOT_ALERT_WEBHOOK_LOOPBACK", false),
  };
}

function backupSettings(env: Env, cwd: string) {
  const dataDir = path.resolve(cwd, env.PATCHPILOT_DATA_DIR || "data");
  const retention = env.PATCHPILOT_BACKUP_RETENTION || "days";
  if (retention !== "days" && retention !== "gfs") {
    throw new ConfigError(
      `PATCHPILOT_BACKUP_RETENTION must be days or gfs, got ${JSON.stringify(retention)}`,
    );
  }
  const backupDir = path.resolve(cwd, env.PATCHPILOT_BACKUP_DIR || path.join(dataDir, "backups"));
  const copyDir = env.PATCHPILOT_BACKUP_COPY_DIR ? path.resolve(cwd, env.PATCHPILOT_BACKUP_COPY_DIR) : null;
  if (copyDir === backupDir) {
    throw new ConfigError("PATCHPILOT_BACKUP_COPY_DIR must be another place than PATCHPILOT_BACKUP_DIR");
  }
  return {
    backupPassphrase: env.PATCHPILOT_BACKUP_PASSPHRASE ? new Secret(env.PATCHPILOT_BACKUP_PASSPHRASE) : null,
    backupPassphraseFile: env.PATCHPILOT_BACKUP_PASSPHRASE_FILE
      ? path.resolve(cwd, env.PATCHPILOT_BACKUP_PASSPHRASE_FILE)
      : null,
    backupDir,
    backupCopyDir: copyDir,
    backupIntervalHours: integer(env, "PATCHPILOT_BACKUP_INTERVAL_HOURS", 24, 0, 168),
    backupRetention: retention as "days" | "gfs",
    backupKeepDays: integer(env, "PATCHPILOT_BACKUP_KEEP_DAYS", 14, 1, 3650),
    restoreTestDays: integer(env, "PATCHPILOT_RESTORE_TEST_DAYS", 7, 0, 90),
    backupS3: backupS3Settings(env, cwd),
    metricsToken: metricsToken(env),
  };
}

function backupS3Settings(env: Env, cwd: string): BackupS3Config | null {
  const bucket = env.PATCHPILOT_BACKUP_S3_BUCKET || "";
  if (bucket === "") return null;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw new ConfigError(`PATCHPILOT_BACKUP_S3_BUCKET is not a bucket name, got ${JSON.stringify(bucket)}`);
  const rawEndpoint = env.PATCHPILOT_BACKUP_S3_ENDPOINT || "";
  let endpoint: string | null = null;
  if (rawEndpoint !== "") {
    let url: URL;
    try {
      url = new URL(rawEndpoint);
    } catch {
      throw new ConfigError("PATCHPILOT_BACKUP_S3_ENDPOINT is not a URL (https://s3.example:9000)");
    }
    if (url.protocol !== "https:" && url.protocol !== "http:")
      throw new ConfigError("PATCHPILOT_BACKUP_S3_ENDPOINT must start with https:// or http://");
    if (url.username !== "" || url.password !== "")
      throw new ConfigError(
        "PATCHPILOT_BACKUP_S3_ENDPOINT must not hold credentials: set PATCHPILOT_BACKUP_S3_ACCESS_KEY_ID and PATCHPILOT_BACKUP_S3_SECRET_ACCESS_KEY",
      );
    endpoint = url.origin;
  }
  let prefix = env.PATCHPILOT_BACKUP_S3_PREFIX || "";
  if (prefix !== "" && !prefix.endsWith("/")) prefix += "/";
  if (prefix.startsWith("/") || prefix.length > 512 || !/^[A-Za-z0-9!_.*'()/-]*$/.test(prefix))
    throw new ConfigError("PATCHPILOT_BACKUP_S3_PREFIX must be a relative key prefix (patchpilot/backups/)");
  const region = env.PATCHPILOT_BACKUP_S3_REGION || "us-east-1";
  if (!/^[a-z0-9-]{1,40}$/.test(region))
    throw new ConfigError(`PATCHPILOT_BACKUP_S3_REGION is not a region name, got ${JSON.stringify(region)}`);
  const accessKeyId = env.PATCHPILOT_BACKUP_S3_ACCESS_KEY_ID || "";
  if (!/^[\x21-\x7e]{3,128}$/.test(accessKeyId))
    throw new ConfigError("set PATCHPILOT_BACKUP_S3_ACCESS_KEY_ID with PATCHPILOT_BACKUP_S3_BUCKET");
  const secret = env.PATCHPILOT_BACKUP_S3_SECRET_ACCESS_KEY || "";
  const secretFile = env.PATCHPILOT_BACKUP_S3_SECRET_ACCESS_KEY_FILE || "";
  if ((secret === "") === (secretFile === ""))
    throw new ConfigError(
      "set PATCHPILOT_BACKUP_S3_SECRET_ACCESS_KEY or PATCHPILOT_BACKUP_S3_SECRET_ACCESS_KEY_FILE (one of them) with PATCHPILOT_BACKUP_S3_BUCKET",
    );
  return Object.freeze({
    endpoint,
    bucket,
    prefix,
    region,
    pathStyle: onOff(env, "PATCHPILOT_BACKUP_S3_PATH_STYLE", endpoint !== null),
    accessKeyId,
    secretAccessKey: secret !== "" ? new Secret(secret) : null,
    secretAccessKeyFile: secretFile !== "" ? path.resolve(cwd, secretFile) : null,
  });
}

function metricsToken(env: Env): Secret | null {
  const raw = env.PATCHPILOT_METRICS_TOKEN;
  if (raw === undefined || raw === "") return null;
  if (raw.length < 32 || !/^[\x21-\x7e]+$/.test(raw)) {
    throw new ConfigError(
      "PATCHPILOT_METRICS_TOKEN must be at least 32 printable characters (openssl rand -hex 32)",
    );
  }
  return new Secret(raw);
}
