import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readFile, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { BackupS3Config } from "../../config/config.js";
import { BackupError } from "./backup-file.js";
import { BACKUP_SUFFIX, manifestPath } from "./backup-service.js";
import type { Rotatable } from "./rotation.js";

/** An S3-compatible bucket backups are copied to, with its client and the secret it signs with. */
export interface S3Location {
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  /** Kept only to scrub it from any message an error carries. */
  readonly secret: string;
}

/** The secret access key: from the environment, or the first line of a file only its owner reads. */
async function secretAccessKey(config: BackupS3Config): Promise<string> {
  if (config.secretAccessKey) return config.secretAccessKey.reveal();
  const file = config.secretAccessKeyFile ?? "";
  const info = await stat(file).catch(() => null);
  if (!info)
    throw new BackupError("backup.s3_failed", `the S3 secret access key file ${file} does not exist`);
  if ((info.mode & 0o077) !== 0) {
    throw new BackupError(
      "backup.s3_failed",
      `${file} is readable by others (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${JSON.stringify(file)}`,
    );
  }
  const secret = ((await readFile(file, "utf8")).split(/\r?\n/)[0] ?? "").trim();
  if (secret === "") throw new BackupError("backup.s3_failed", `${file} holds no secret access key`);
  return secret;
}

export async function openS3Location(
  config: BackupS3Config,
  extra: Pick<S3ClientConfig, "logger"> = {},
): Promise<S3Location> {
  const secret = await secretAccessKey(config);
  const client = new S3Client({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.pathStyle,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: secret },
    // Checksums only where S3 requires them: many S3-compatible services refuse the newer
    // trailing-checksum uploads. The backup's own HMAC is the integrity check that counts.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: 3,
    ...extra,
  });
  return { bucket: config.bucket, prefix: config.prefix, client, secret };
}

export function s3Url(location: S3Location, key: string): string {
  return `s3://${location.bucket}/${key}`;
}

/** Bucket and key of an s3://bucket/key address, or null for anything else. */
export function parseS3Url(text: string): { bucket: string; key: string } | null {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(text);
  return m?.[1] && m[2] ? { bucket: m[1], key: m[2] } : null;
}

/** The service's error as a sentence, with the secret scrubbed should a service ever echo it. */
function serviceAnswer(location: S3Location, error: unknown): string {
  const e = error as Error & { Code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const text = `${e.name || e.Code || "Error"}${status ? ` (HTTP ${status})` : ""}: ${e.message}`;
  return location.secret.length > 0 ? text.split(location.secret).join("[redacted]") : text;
}

function failure(location: S3Location, what: string, error: unknown): BackupError {
  if (error instanceof BackupError) return error;
  return new BackupError("backup.s3_failed", `${what} failed: ${serviceAnswer(location, error)}`);
}

/**
 * Uploads a verified backup and then its manifest (multipart for large files), and checks each
 * object's size against the local file. Returns the backup's s3:// address. The local backup is
 * never touched; a failure says what the service answered.
 */
export async function uploadBackup(location: S3Location, file: string): Promise<string> {
  const key = `${location.prefix}${path.basename(file)}`;
  for (const [from, to] of [
    [file, key],
    [manifestPath(file), manifestPath(key)],
  ] as const) {
    try {
      const upload = new Upload({
        client: location.client,
        params: { Bucket: location.bucket, Key: to, Body: createReadStream(from) },
        queueSize: 2,
        leavePartsOnError: false,
      });
      await upload.done();
      const head = await location.client.send(new HeadObjectCommand({ Bucket: location.bucket, Key: to }));
      const size = (await stat(from)).size;
      if (head.ContentLength !== size) {
        throw new BackupError(
          "backup.s3_failed",
          `the upload to ${s3Url(location, to)} holds ${head.ContentLength ?? "no"} bytes, the local file ${size}`,
        );
      }
    } catch (error) {
      throw failure(location, `the upload to ${s3Url(location, to)}`, error);
    }
  }
  return s3Url(location, key);
}

const STAMPED = /^patchpilot-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.ppbak$/;

/** The backups under the prefix (the time from each name, which the server wrote), for rotation. */
export async function listS3Backups(location: S3Location): Promise<Rotatable[]> {
  const out: Rotatable[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await location.client.send(
        new ListObjectsV2Command({
          Bucket: location.bucket,
          Prefix: location.prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const object of page.Contents ?? []) {
        const key = object.Key ?? "";
        const name = key.slice(location.prefix.length);
        const m = STAMPED.exec(name);
        if (!key.endsWith(BACKUP_SUFFIX) || !m) continue;
        out.push({ file: key, createdAt: `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z` });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (error) {
    throw failure(location, `listing ${s3Url(location, location.prefix)}`, error);
  }
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** Removes backups (keys) and their manifests from the bucket; returns the s3:// addresses removed. */
export async function removeS3Backups(
  location: S3Location,
  backups: readonly Rotatable[],
): Promise<string[]> {
  if (backups.length === 0) return [];
  const keys = backups.flatMap((b) => [b.file, manifestPath(b.file)]);
  try {
    for (let i = 0; i < keys.length; i += 1000) {
      const result = await location.client.send(
        new DeleteObjectsCommand({
          Bucket: location.bucket,
          Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const first = result.Errors?.[0];
      if (first) throw new Error(`${first.Key}: ${first.Code ?? ""} ${first.Message ?? ""}`.trim());
    }
  } catch (error) {
    throw failure(location, `removing old backups from ${s3Url(location, location.prefix)}`, error);
  }
  return backups.map((b) => s3Url(location, b.file));
}

/**
 * Downloads a backup and its manifest into `dir` and returns the local file. Nothing is trusted
 * yet: the restore checks the HMAC before it writes anything.
 */
export async function downloadBackup(location: S3Location, key: string, dir: string): Promise<string> {
  const name = path.posix.basename(key);
  if (!name.endsWith(BACKUP_SUFFIX)) {
    throw new BackupError(
      "backup.s3_failed",
      `${s3Url(location, key)} is not a backup (a ${BACKUP_SUFFIX} key)`,
    );
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, name);
  for (const [from, to] of [
    [key, file],
    [manifestPath(key), manifestPath(file)],
  ] as const) {
    try {
      const object = await location.client.send(new GetObjectCommand({ Bucket: location.bucket, Key: from }));
      await pipeline(object.Body as Readable, createWriteStream(`${to}.partial`, { mode: 0o600 }));
      await rename(`${to}.partial`, to);
    } catch (error) {
      await unlink(`${to}.partial`).catch(() => {});
      throw failure(location, `the download of ${s3Url(location, from)}`, error);
    }
  }
  return file;
}
