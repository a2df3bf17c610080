import { createHash, type KeyObject } from "node:crypto";
import yauzl from "yauzl";
import { verifySignature } from "./evidence-key.js";
import { ZIP_SIGNATURE_LENGTH, ZIP_SIGNATURE_PREFIX } from "./evidence-pack.js";

export interface PackVerification {
  valid: boolean;
  problems: string[];
  files: number;
  manifest: {
    organization?: { id: string; name: string };
    framework?: { id: string };
    period?: unknown;
  } | null;
}

const EOCD = 0x06054b50;

/** The ZIP comment (our archive signature) and where it starts, from the end-of-central-directory record. */
function zipComment(zip: Buffer): { start: number; text: string } | null {
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) !== EOCD) continue;
    const length = zip.readUInt16LE(i + 20);
    if (i + 22 + length !== zip.length) continue;
    return { start: i + 22, text: zip.subarray(i + 22).toString("latin1") };
  }
  return null;
}

function readEntries(zip: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(zip, { lazyEntries: true, strictFileNames: true }, (error, archive) => {
      if (error || !archive) return reject(error ?? new Error("not a ZIP archive"));
      const entries = new Map<string, Buffer>();
      archive.on("error", reject);
      archive.on("end", () => resolve(entries));
      archive.on("entry", (entry: yauzl.Entry) => {
        if (entries.has(entry.fileName)) return reject(new Error(`${entry.fileName} appears twice`));
        archive.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream) return reject(streamError ?? new Error("unreadable entry"));
          const chunks: Buffer[] = [];
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("error", reject);
          stream.on("end", () => {
            entries.set(entry.fileName, Buffer.concat(chunks));
            archive.readEntry();
          });
        });
      });
      archive.readEntry();
    });
  });
}

/**
 * Checks an evidence pack offline with only the server's public key: the archive signature in
 * the ZIP comment over every byte before it, the manifest's signature, and every file's SHA-256
 * against the manifest (no file missing, none added).
 */
export async function verifyEvidencePack(zip: Buffer, publicKey: KeyObject): Promise<PackVerification> {
  const problems: string[] = [];
  const result = (manifest: PackVerification["manifest"], files = 0): PackVerification => ({
    valid: problems.length === 0,
    problems,
    files,
    manifest,
  });
  const comment = zipComment(zip);
  const signatureText = comment?.text.slice(ZIP_SIGNATURE_PREFIX.length) ?? "";
  if (
    !comment?.text.startsWith(ZIP_SIGNATURE_PREFIX) ||
    // Strictly canonical base64: a decoder would skip a stray character, the check must not.
    !/^[A-Za-z0-9+/]{86}==$/.test(signatureText)
  ) {
    problems.push("the archive carries no PatchPilot signature");
  } else if (
    !verifySignature(
      publicKey,
      zip.subarray(0, zip.length - ZIP_SIGNATURE_LENGTH),
      Buffer.from(signatureText, "base64"),
    )
  ) {
    problems.push("the archive's signature does not match its bytes and the public key");
  }
  let entries: Map<string, Buffer>;
  try {
    entries = await readEntries(zip);
  } catch (error) {
    problems.push(`the archive cannot be read: ${error instanceof Error ? error.message : String(error)}`);
    return result(null);
  }
  const manifestBytes = entries.get("manifest.json");
  const signature = entries.get("manifest.sig");
  if (!manifestBytes || !signature) {
    problems.push("manifest.json or manifest.sig is missing");
    return result(null);
  }
  const manifestSignature = signature.toString("utf8");
  if (
    !/^[A-Za-z0-9+/]{86}==\n$/.test(manifestSignature) ||
    !verifySignature(publicKey, manifestBytes, Buffer.from(manifestSignature, "base64"))
  ) {
    problems.push("manifest.sig does not match manifest.json and the public key");
  }
  let manifest: { files?: { path: string; sha256: string; bytes: number }[] } & PackVerification["manifest"];
  try {
    manifest = JSON.parse(manifestBytes.toString("utf8"));
  } catch {
    problems.push("manifest.json is not JSON");
    return result(null);
  }
  const listed = new Set<string>();
  for (const f of manifest?.files ?? []) {
    listed.add(f.path);
    const data = entries.get(f.path);
    if (!data) problems.push(`${f.path} is listed in the manifest but missing`);
    else if (createHash("sha256").update(data).digest("hex") !== f.sha256)
      problems.push(`${f.path} does not match its SHA-256 in the manifest`);
  }
  for (const name of entries.keys()) {
    if (name !== "manifest.json" && name !== "manifest.sig" && !listed.has(name))
      problems.push(`${name} is not listed in the manifest`);
  }
  return result(manifest, listed.size);
}
