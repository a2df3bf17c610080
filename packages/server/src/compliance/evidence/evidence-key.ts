import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { PLATFORM_ORGANIZATION_ID } from "../../audit/chain.js";
import type { Database } from "../../db/database.js";
import { SYSTEM_WORK } from "../../db/unit-of-work.js";
import type { SecretBox } from "../../secrets/secret-box.js";

/** The server's Ed25519 evidence key: signs chain checkpoints and evidence pack manifests. */
export interface EvidenceKey {
  readonly id: string;
  readonly publicKeyPem: string;
  sign(data: Buffer): Buffer;
}

// Ed25519 public keys in SPKI DER are this fixed prefix and the 32 raw bytes.
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

export function publicKeyFromRaw(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
}

/** The key id: the first 16 bytes of the SHA-256 of the raw public key, in hex. */
export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ format: "der", type: "spki" });
  return createHash("sha256").update(der.subarray(SPKI_PREFIX.length)).digest("hex").slice(0, 32);
}

export function verifySignature(publicKey: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    return verify(null, data, publicKey, signature);
  } catch {
    return false;
  }
}

/** Reads a PEM public key as people download it from the console or the API. */
export function parsePublicKeyPem(pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== "ed25519") throw new Error("the public key is not an Ed25519 key");
  return key;
}

/**
 * The evidence key, made on first use. The private key lives in the database sealed with the
 * server's secret key (bound to the key id), so every server process of one installation signs
 * with the same key, and a database dump without the secret key cannot sign. The oldest key is
 * the one in use, so two processes that race to make one settle on the same.
 */
export class EvidenceKeyStore {
  #key: Promise<EvidenceKey> | null = null;

  constructor(
    private readonly db: Database,
    private readonly secrets: SecretBox,
  ) {}

  current(): Promise<EvidenceKey> {
    this.#key ??= this.#load().catch((error: unknown) => {
      this.#key = null;
      throw error;
    });
    return this.#key;
  }

  async #load(): Promise<EvidenceKey> {
    const existing = await this.#oldest();
    if (existing) return existing;
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    const id = keyIdOf(publicKey);
    const raw = publicKey.export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length);
    const pkcs8 = privateKey.export({ format: "der", type: "pkcs8" }).toString("base64");
    await this.db.system(SYSTEM_WORK, async (tx) => {
      await tx.db
        .insertInto("evidence_keys")
        .values({ id, public_key: raw, sealed_private_key: this.secrets.seal(pkcs8, `evidence-key:${id}`) })
        .onConflict((oc) => oc.column("id").doNothing())
        .execute();
      tx.audit(PLATFORM_ORGANIZATION_ID, {
        action: "evidence.key_created",
        target: { type: "evidence_key", id },
        details: { algorithm: "Ed25519" },
      });
    });
    const made = await this.#oldest();
    if (!made) throw new Error("the evidence key was not stored");
    return made;
  }

  async #oldest(): Promise<EvidenceKey | null> {
    const row = await this.db.systemReader
      .selectFrom("evidence_keys")
      .selectAll()
      .orderBy("created_at")
      .orderBy("id")
      .limit(1)
      .executeTakeFirst();
    if (!row) return null;
    const privateKey = createPrivateKey({
      key: Buffer.from(this.secrets.open(row.sealed_private_key, `evidence-key:${row.id}`), "base64"),
      format: "der",
      type: "pkcs8",
    });
    const publicKey = publicKeyFromRaw(Buffer.from(row.public_key));
    return {
      id: row.id,
      publicKeyPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
      sign: (data) => sign(null, data, privateKey),
    };
  }
}
