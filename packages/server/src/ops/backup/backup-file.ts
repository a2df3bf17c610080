import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  type Hmac,
  pbkdf2,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import { PassThrough, type Readable, Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import canonicalizeModule from "canonicalize";

// The package's types describe a namespace; at run time the default export is the function.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/**
 * The backup file is exactly what `openssl enc -aes-256-cbc -pbkdf2 -iter 200000 -md sha256 -salt`
 * writes: "Salted__", an 8-byte salt, then AES-256-CBC ciphertext with PKCS#7 padding, key and IV
 * being the first 48 bytes of PBKDF2-HMAC-SHA256(passphrase, salt, 200,000). A customer can open it
 * with nothing but openssl. CBC does not detect tampering, so the manifest beside the file carries
 * an HMAC-SHA256 over every byte of the file and the manifest's own fields, under a second key
 * derived from the passphrase with a salt of its own.
 */
export const PBKDF2_ITERATIONS = 200_000;
export const OPENSSL_MAGIC = Buffer.from("Salted__", "ascii");
export const MANIFEST_FORMAT = "patchpilot-backup/1";
const KEY_CHECK_LABEL = "patchpilot backup passphrase check";

export type BackupPayload = "pg_dump-custom" | "pglite-datadir-tgz";

export interface AuditHead {
  organizationId: string;
  chain: string;
  seq: number;
  headHash: string;
}

/** What the manifest says, apart from the HMAC that seals it. */
export interface ManifestBody {
  format: typeof MANIFEST_FORMAT;
  file: string;
  createdAt: string;
  sourceVersion: string;
  schemaVersion: string | null;
  engine: "pglite" | "postgres";
  payload: BackupPayload;
  cipher: "aes-256-cbc";
  kdf: { name: "pbkdf2-hmac-sha256"; iterations: number };
  macSalt: string;
  /** Proves the passphrase before the file is read, so a wrong one is named as such. */
  keyCheck: string;
  bytes: number;
  sha256: string;
  rowCounts: Record<string, number>;
  auditHeads: AuditHead[];
}

export interface Manifest extends ManifestBody {
  hmac: string;
}

export class BackupError extends Error {
  override name = "BackupError";
  constructor(
    readonly code:
      | "backup.wrong_passphrase"
      | "backup.tampered"
      | "backup.bad_manifest"
      | "backup.disk_full"
      | "backup.write_failed"
      | "backup.dump_failed"
      | "backup.not_empty"
      | "backup.restore_failed"
      | "backup.no_passphrase"
      | "backup.s3_failed",
    message: string,
  ) {
    super(message);
  }
}

function derive(passphrase: string, salt: Buffer, bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    pbkdf2(passphrase, salt, PBKDF2_ITERATIONS, bytes, "sha256", (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

/** AES key and IV, exactly as openssl derives them for `-pbkdf2 -iter 200000 -md sha256`. */
async function cipherKey(passphrase: string, salt: Buffer): Promise<{ key: Buffer; iv: Buffer }> {
  const out = await derive(passphrase, salt, 48);
  return { key: out.subarray(0, 32), iv: out.subarray(32, 48) };
}

function macKey(passphrase: string, macSalt: Buffer): Promise<Buffer> {
  return derive(passphrase, macSalt, 32);
}

function keyCheck(key: Buffer): string {
  return createHmac("sha256", key).update(KEY_CHECK_LABEL).digest("hex");
}

function sealManifest(body: ManifestBody, fileMac: Hmac): string {
  fileMac.update(Buffer.from([0]));
  fileMac.update(canonicalize(body) ?? "");
  return fileMac.digest("hex");
}

/** Counts and hashes the bytes passing through, for the manifest. */
function tap(onChunk: (chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onChunk(chunk);
      done(null, chunk);
    },
  });
}

/** What the caller tells about a backup; the rest of the manifest is computed while encrypting. */
export type ManifestDescription = Omit<
  ManifestBody,
  "format" | "cipher" | "kdf" | "macSalt" | "keyCheck" | "bytes" | "sha256"
>;

export interface EncryptOptions {
  /** Opens the destination; a test injects a writer that fills up. */
  openWriter?: (path: string) => Writable;
  /** The producer's own end (pg_dump's exit): the file is kept only if this resolves. */
  sourceDone?: Promise<void>;
}

/**
 * Streams `source` through AES-256-CBC into `path` (written as `path.partial`, renamed when complete,
 * removed on any failure, so a full disk never leaves a half file or touches another backup), and
 * returns the sealed manifest. Memory stays bounded: nothing is held beyond a stream buffer.
 */
export async function encryptToFile(
  source: Readable,
  path: string,
  passphrase: string,
  describe: ManifestDescription | Promise<ManifestDescription>,
  options: EncryptOptions = {},
): Promise<Manifest> {
  // What the file holds may be read while it streams (PostgreSQL counts rows during the dump); it
  // is needed only to seal the manifest at the end.
  const described = Promise.resolve(describe);
  described.catch(() => {});
  const salt = randomBytes(8);
  const macSalt = randomBytes(16);
  const [{ key, iv }, mkey] = await Promise.all([cipherKey(passphrase, salt), macKey(passphrase, macSalt)]);
  const cipher = createCipheriv("aes-256-cbc", key, iv);
  const mac = createHmac("sha256", mkey);
  const sha = createHash("sha256");
  let bytes = 0;
  const header = Buffer.concat([OPENSSL_MAGIC, salt]);
  const partial = `${path}.partial`;
  const writer = (options.openWriter ?? ((p) => createWriteStream(p, { mode: 0o600, flags: "wx" })))(partial);
  try {
    await pipeline(
      source,
      cipher,
      async function* (chunks: AsyncIterable<Buffer>) {
        yield header;
        for await (const chunk of chunks) yield chunk;
      },
      tap((chunk) => {
        bytes += chunk.length;
        mac.update(chunk);
        sha.update(chunk);
      }),
      writer,
    );
    await options.sourceDone;
    await described;
    await rename(partial, path);
  } catch (error) {
    await unlink(partial).catch(() => {});
    throw writeError(error, path);
  }
  const body: ManifestBody = {
    format: MANIFEST_FORMAT,
    ...(await described),
    cipher: "aes-256-cbc",
    kdf: { name: "pbkdf2-hmac-sha256", iterations: PBKDF2_ITERATIONS },
    macSalt: macSalt.toString("hex"),
    keyCheck: keyCheck(mkey),
    bytes,
    sha256: sha.digest("hex"),
  };
  return { ...body, hmac: sealManifest(body, mac) };
}

function writeError(error: unknown, path: string): Error {
  if (error instanceof BackupError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new BackupError(
      "backup.disk_full",
      `no space left on the device while writing ${path}; the partial file was removed and earlier backups are untouched`,
    );
  }
  return new BackupError(
    "backup.write_failed",
    `the backup could not be written to ${path}: ${(error as Error).message}; the partial file was removed`,
  );
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Reads and checks the manifest's shape; its HMAC is checked by `verifyBackupFile`. */
export function parseManifest(text: string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BackupError("backup.bad_manifest", "the manifest is not JSON");
  }
  const m = value as Partial<Manifest>;
  if (
    typeof m !== "object" ||
    m === null ||
    m.format !== MANIFEST_FORMAT ||
    typeof m.hmac !== "string" ||
    !HEX64.test(m.hmac) ||
    typeof m.keyCheck !== "string" ||
    typeof m.macSalt !== "string" ||
    !/^[0-9a-f]{32}$/.test(m.macSalt) ||
    m.kdf?.iterations !== PBKDF2_ITERATIONS ||
    typeof m.bytes !== "number" ||
    (m.payload !== "pg_dump-custom" && m.payload !== "pglite-datadir-tgz") ||
    typeof m.rowCounts !== "object" ||
    !Array.isArray(m.auditHeads)
  ) {
    throw new BackupError("backup.bad_manifest", `the manifest is not a ${MANIFEST_FORMAT} manifest`);
  }
  return m as Manifest;
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Checks the passphrase against the manifest, then the HMAC over every byte of the file and the
 * manifest's fields. Reads, never writes: a restore calls this before it touches anything.
 */
export async function verifyBackupFile(path: string, manifest: Manifest, passphrase: string): Promise<void> {
  const mkey = await macKey(passphrase, Buffer.from(manifest.macSalt, "hex"));
  if (!sameHex(keyCheck(mkey), manifest.keyCheck)) {
    throw new BackupError(
      "backup.wrong_passphrase",
      "the passphrase does not open this backup (it was made with another one); nothing was restored",
    );
  }
  const mac = createHmac("sha256", mkey);
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(path)) {
      mac.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  } catch (error) {
    throw new BackupError(
      "backup.bad_manifest",
      `the backup file cannot be read: ${(error as Error).message}`,
    );
  }
  const { hmac, ...body } = manifest;
  if (bytes !== manifest.bytes || !sameHex(sealManifest(body, mac), hmac)) {
    throw new BackupError(
      "backup.tampered",
      `${path} does not match its manifest's HMAC (${bytes === manifest.bytes ? "altered" : `cut short or extended: ${bytes} of ${manifest.bytes} bytes`}); it is refused`,
    );
  }
}

/**
 * The decrypted content as a stream. Call only after `verifyBackupFile`; the bytes are hashed
 * again on the way, and a file that changed between the two reads fails at the end.
 */
export async function decryptFromFile(
  path: string,
  manifest: Manifest,
  passphrase: string,
): Promise<Readable> {
  const reader = createReadStream(path);
  const header = await new Promise<Buffer>((resolve, reject) => {
    reader.once("error", reject);
    reader.once("readable", () => {
      const head = reader.read(16) as Buffer | null;
      if (!head || head.length < 16 || !head.subarray(0, 8).equals(OPENSSL_MAGIC)) {
        reject(new BackupError("backup.tampered", `${path} does not start with an openssl salt header`));
      } else resolve(head);
    });
  });
  const { key, iv } = await cipherKey(passphrase, header.subarray(8, 16));
  const decipher = createDecipheriv("aes-256-cbc", key, iv);
  const sha = createHash("sha256").update(header);
  const check = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sha.update(chunk);
      done(null, chunk);
    },
    flush(done) {
      done(
        sha.digest("hex") === manifest.sha256
          ? null
          : new BackupError("backup.tampered", `${path} changed while it was being restored`),
      );
    },
  });
  const out = new PassThrough();
  pipeline(reader, check, decipher, out).catch((error: unknown) =>
    out.destroy(
      error instanceof BackupError
        ? error
        : new BackupError("backup.tampered", `${path} does not decrypt: ${(error as Error).message}`),
    ),
  );
  return out;
}
