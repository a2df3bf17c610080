import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./config.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "pp-config-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("configuration", () => {
  it("has safe defaults: loopback, HTTPS, ./data, embedded database", () => {
    const config = loadConfig({}, "/srv/pp");
    expect(config).toMatchObject({
      host: "127.0.0.1",
      port: 8443,
      dataDir: "/srv/pp/data",
      databaseUrl: null,
      trustedProxies: [],
    });
    expect(config.publicUrl.toString()).toBe("https://localhost:8443/");
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("reads PATCHPILOT_ variables and DATABASE_URL", () => {
    const config = loadConfig({
      PATCHPILOT_DATA_DIR: "/var/lib/patchpilot",
      PATCHPILOT_PORT: "9443",
      PATCHPILOT_HOST: "0.0.0.0",
      PATCHPILOT_PUBLIC_URL: "https://patch.example.com",
      PATCHPILOT_TRUSTED_PROXIES: "10.0.0.1, 10.1.0.0/16",
      DATABASE_URL: "postgres://pp@db/pp",
    });
    expect(config).toMatchObject({
      dataDir: "/var/lib/patchpilot",
      port: 9443,
      host: "0.0.0.0",
      databaseUrl: "postgres://pp@db/pp",
    });
    expect(config.trustedProxies).toEqual(["10.0.0.1", "10.1.0.0/16"]);
    expect(config.publicUrl.origin).toBe("https://patch.example.com");
  });

  it("refuses bad values with a sentence naming the setting", () => {
    expect(() => loadConfig({ PATCHPILOT_PORT: "80a" })).toThrow(/PATCHPILOT_PORT must be a whole number/);
    expect(() => loadConfig({ PATCHPILOT_PUBLIC_URL: "http://plain.example.com" })).toThrow(
      /must start with https/,
    );
    expect(() => loadConfig({ PATCHPILOT_TLS_CERT_FILE: "/a.crt" })).toThrow(/set both/);
    expect(() => loadConfig({ PATCHPILOT_LOG_LEVEL: "loud" })).toThrow(ConfigError);
    expect(() => loadConfig({ PATCHPILOT_WORKERS: "2" })).toThrow(/needs DATABASE_URL/);
    expect(loadConfig({ PATCHPILOT_WORKERS: "2", DATABASE_URL: "postgres://db/pp" }).workers).toBe(2);
  });

  it("reads an EnvironmentFile only when nobody else can read it", async () => {
    const file = path.join(dir, "patchpilot.env");
    await writeFile(file, "PATCHPILOT_PORT=7443\nDATABASE_URL=postgres://pp:secret@db/pp\n");
    await chmod(file, 0o644);
    expect(() => loadConfig({ PATCHPILOT_ENV_FILE: file })).toThrow(/readable by others.*chmod 600/);
    await chmod(file, 0o600);
    const config = loadConfig({ PATCHPILOT_ENV_FILE: file });
    expect(config.port).toBe(7443);
    expect(config.databaseUrl).toBe("postgres://pp:secret@db/pp");
    // The process environment wins over the file, as with systemd's Environment= lines.
    expect(loadConfig({ PATCHPILOT_ENV_FILE: file, PATCHPILOT_PORT: "6443" }).port).toBe(6443);
  });
});
