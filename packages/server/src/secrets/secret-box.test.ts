import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openSecretBox, SecretBox, SecretBoxError } from "./secret-box.js";

describe("the secret box", () => {
  const box = new SecretBox(Buffer.alloc(32, 7));

  it("opens what it sealed, only in the same context, and never shows the plaintext", () => {
    const sealed = box.seal("s3cret-siem-password", "siem:org-a");
    expect(sealed).toMatch(/^v1:[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain("s3cret");
    expect(box.open(sealed, "siem:org-a")).toBe("s3cret-siem-password");
    expect(() => box.open(sealed, "siem:org-b")).toThrow(SecretBoxError);
    expect(box.seal("same", "c")).not.toBe(box.seal("same", "c"));
  });

  it("refuses a tampered or truncated value and another key", () => {
    const sealed = box.seal("value", "ctx");
    const flipped = `${sealed.slice(0, -2)}${sealed.at(-2) === "A" ? "B" : "A"}${sealed.at(-1)}`;
    expect(() => box.open(flipped, "ctx")).toThrow(SecretBoxError);
    expect(() => box.open("v1:AAAA", "ctx")).toThrow(/cut short/);
    expect(() => box.open("plain", "ctx")).toThrow(/not a sealed secret/);
    expect(() => new SecretBox(Buffer.alloc(32, 8)).open(sealed, "ctx")).toThrow(SecretBoxError);
  });

  it("takes its key from the environment, a key file, or makes one (0600) in the data directory", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "pp-secret-"));
    try {
      const made = await openSecretBox({ secretKey: null, secretKeyFile: null, dataDir: dir });
      expect((await stat(path.join(dir, "secret.key"))).mode & 0o777).toBe(0o600);
      const again = await openSecretBox({ secretKey: null, secretKeyFile: null, dataDir: dir });
      expect(again.open(made.seal("x", "c"), "c")).toBe("x");
      const key = (await readFile(path.join(dir, "secret.key"), "utf8")).trim();
      const fromEnv = await openSecretBox({
        secretKey: { reveal: () => key },
        secretKeyFile: null,
        dataDir: "/nonexistent",
      });
      expect(fromEnv.open(made.seal("y", "c"), "c")).toBe("y");
      await expect(
        openSecretBox({ secretKey: { reveal: () => "c2hvcnQ=" }, secretKeyFile: null, dataDir: dir }),
      ).rejects.toThrow(/32 bytes/);
      await expect(
        openSecretBox({ secretKey: null, secretKeyFile: path.join(dir, "missing.key"), dataDir: dir }),
      ).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
