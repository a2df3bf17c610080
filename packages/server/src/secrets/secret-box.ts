import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

const VERSION = "v1";
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBoxError extends Error {
  override name = "SecretBoxError";
}

/**
 * Encrypts the secrets the server must use again (SIEM credentials, OIDC client secrets, TOTP
 * keys) with AES-256-GCM under a key that is never in the database. Each value is bound to its
 * place (`context`, e.g. `siem:<organisation id>`) as associated data, so a ciphertext copied to
 * another row or organisation does not decrypt. Stored form: `v1:<base64url iv|tag|ciphertext>`.
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new SecretBoxError(`the secret key must be ${KEY_BYTES} bytes`);
    this.#key = Buffer.from(key);
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    cipher.setAAD(Buffer.from(context, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url")}`;
  }

  open(sealed: string, context: string): string {
    const [version, data] = sealed.split(":", 2);
    if (version !== VERSION || !data) throw new SecretBoxError("not a sealed secret");
    const raw = Buffer.from(data, "base64url");
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretBoxError("the sealed secret is cut short");
    const decipher = createDecipheriv("aes-256-gcm", this.#key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
        "utf8",
      );
    } catch {
      throw new SecretBoxError("the sealed secret does not open with this key and context");
    }
  }
}

/**
 * The server's secret key: `PATCHPILOT_SECRET_KEY` (32 bytes, base64), or the file
 * `PATCHPILOT_SECRET_KEY_FILE` names, or — for the embedded single-machine default — a key made on
 * first start in `<data dir>/secret.key` (mode 0600). Losing the key loses the sealed secrets;
 * back it up apart from the database.
 */
export async function openSecretBox(config: {
  secretKey: { reveal(): string } | null;
  secretKeyFile: string | null;
  dataDir: string;
}): Promise<SecretBox> {
  const decode = (text: string, from: string) => {
    const key = Buffer.from(text.trim(), "base64");
    if (key.length !== KEY_BYTES) throw new SecretBoxError(`${from} must hold ${KEY_BYTES} bytes in base64`);
    return key;
  };
  if (config.secretKey) return new SecretBox(decode(config.secretKey.reveal(), "PATCHPILOT_SECRET_KEY"));
  const file = config.secretKeyFile ?? path.join(config.dataDir, "secret.key");
  try {
    return new SecretBox(decode(await readFile(file, "utf8"), file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT" || config.secretKeyFile) throw error;
  }
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  await writeFile(file, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" }).catch(async (error) => {
    // Another process made it first: use theirs.
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  });
  await chmod(file, 0o600);
  return new SecretBox(decode(await readFile(file, "utf8"), file));
}
