import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requirePeer } from "../../testing/peers.js";
import {
  BackupError,
  decryptFromFile,
  encryptToFile,
  type Manifest,
  parseManifest,
  verifyBackupFile,
} from "./backup-file.js";

const PASS = "correct horse battery staple";
const DESCRIBE = {
  file: "b.ppbak",
  createdAt: "2026-12-01T00:00:00.000Z",
  sourceVersion: "0.1.0",
  schemaVersion: "x",
  engine: "pglite" as const,
  payload: "pglite-datadir-tgz" as const,
  rowCounts: { devices: 3 },
  auditHeads: [],
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "pp-backup-file-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function openssl(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile("openssl", args, { env, encoding: "buffer", maxBuffer: 64 << 20 }, (error, stdout, stderr) =>
      resolve({ code: error ? 1 : 0, stdout, stderr: stderr.toString() }),
    );
  });
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function make(name: string, content: Buffer): Promise<{ file: string; manifest: Manifest }> {
  const file = path.join(dir, name);
  const manifest = await encryptToFile(Readable.from([content]), file, PASS, { ...DESCRIBE, file: name });
  return { file, manifest };
}

describe("backup file format", () => {
  it("decrypts with the openssl enc command line and the passphrase alone", async () => {
    if (!requirePeer("openssl", "openssl")) return;
    const content = randomBytes(300_000);
    const { file, manifest } = await make("a.ppbak", content);
    expect(manifest.bytes).toBe((await readFile(file)).length);
    const out = await openssl(
      [
        "enc",
        "-d",
        "-aes-256-cbc",
        "-pbkdf2",
        "-iter",
        "200000",
        "-md",
        "sha256",
        "-in",
        file,
        "-pass",
        "env:PP",
      ],
      { PP: PASS },
    );
    expect(out.stderr).toBe("");
    expect(out.stdout.equals(content)).toBe(true);
    // And the other way round: a file openssl wrote is the same format.
    await writeFile(path.join(dir, "plain"), content);
    const enc = await openssl(
      [
        "enc",
        "-aes-256-cbc",
        "-pbkdf2",
        "-iter",
        "200000",
        "-md",
        "sha256",
        "-salt",
        "-in",
        path.join(dir, "plain"),
        "-pass",
        "env:PP",
      ],
      { PP: PASS },
    );
    expect(enc.stdout.subarray(0, 8).toString()).toBe("Salted__");
  });

  it("verifies and decrypts its own file, streaming", async () => {
    const content = randomBytes(1_000_003);
    const { file, manifest } = await make("b.ppbak", content);
    const parsed = parseManifest(JSON.stringify(manifest));
    await verifyBackupFile(file, parsed, PASS);
    expect((await collect(await decryptFromFile(file, parsed, PASS))).equals(content)).toBe(true);
  });

  it("names a wrong passphrase as such", async () => {
    const { file, manifest } = await make("c.ppbak", randomBytes(1000));
    await expect(verifyBackupFile(file, manifest, "not it")).rejects.toMatchObject({
      code: "backup.wrong_passphrase",
    });
  });

  it("refuses an altered byte, a cut-short file and an edited manifest", async () => {
    const { file, manifest } = await make("d.ppbak", randomBytes(100_000));
    const bytes = await readFile(file);
    bytes[5000] = (bytes[5000] ?? 0) ^ 1;
    await writeFile(file, bytes);
    await expect(verifyBackupFile(file, manifest, PASS)).rejects.toMatchObject({ code: "backup.tampered" });

    const other = await make("e.ppbak", randomBytes(100_000));
    await truncate(other.file, 50_000);
    await expect(verifyBackupFile(other.file, other.manifest, PASS)).rejects.toThrow(/cut short/);

    const third = await make("f.ppbak", randomBytes(1000));
    const edited = { ...third.manifest, rowCounts: { devices: 4 } };
    await expect(verifyBackupFile(third.file, edited, PASS)).rejects.toMatchObject({
      code: "backup.tampered",
    });
    expect(() => parseManifest("{}")).toThrow(BackupError);
  });

  it("removes the partial file when the disk fills, and says so", async () => {
    let written = 0;
    const full = () =>
      new Writable({
        write(chunk: Buffer, _e, done) {
          written += chunk.length;
          if (written > 64 * 1024) {
            const error = Object.assign(new Error("ENOSPC: no space left on device, write"), {
              code: "ENOSPC",
            });
            done(error);
          } else done();
        },
      });
    const file = path.join(dir, "full.ppbak");
    await expect(
      encryptToFile(Readable.from([randomBytes(500_000)]), file, PASS, DESCRIBE, { openWriter: full }),
    ).rejects.toMatchObject({
      code: "backup.disk_full",
      message: expect.stringMatching(/partial file was removed/),
    });
    expect((await readdir(dir)).filter((f) => f.startsWith("full"))).toEqual([]);
  });
});
