import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../testing/cli.js";
import { createTestDatabase, type TestDatabase } from "../testing/database.js";

const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const CLI = fileURLToPath(new URL("./main.ts", import.meta.url));

function get(url: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(url, { ca }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    })
      .on("error", reject)
      .end();
  });
}

// Several server processes need a database server: on PostgreSQL they run; on the embedded
// database, which lives inside one process, serve refuses them.
const onPostgres = Boolean(process.env.DATABASE_URL);

function embeddedSuite() {
  describe("patchpilot serve with PATCHPILOT_WORKERS on the embedded database", () => {
    it("refuses to start, saying why", { timeout: 120_000 }, async () => {
      const dataDir = await mkdtemp(path.join(tmpdir(), "pp-workers-"));
      try {
        const result = await runCli(["serve"], {
          PATCHPILOT_WORKERS: "2",
          PATCHPILOT_PORT: "0",
          PATCHPILOT_FEED_SYNC: "off",
          PATCHPILOT_DATA_DIR: dataDir,
        });
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(/PATCHPILOT_WORKERS above 1 needs DATABASE_URL/);
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    });
  });
}

function postgresSuite() {
  describe("patchpilot serve with PATCHPILOT_WORKERS", () => {
    let db: TestDatabase;
    let dataDir: string;
    beforeAll(async () => {
      db = await createTestDatabase();
      dataDir = await mkdtemp(path.join(tmpdir(), "pp-workers-"));
    });
    afterAll(async () => {
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    });

    it("runs two processes on one port, answers, and stops cleanly on SIGTERM", {
      timeout: 180_000,
    }, async () => {
      const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", CLI, "serve"], {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH ?? "",
          DATABASE_URL: db.url ?? "",
          PATCHPILOT_WORKERS: "2",
          PATCHPILOT_PORT: "0",
          PATCHPILOT_FEED_SYNC: "off",
          PATCHPILOT_DATA_DIR: dataDir,
          PATCHPILOT_LOG_LEVEL: "warn",
        },
      });
      let output = "";
      child.stdout.on("data", (c: Buffer) => {
        output += c.toString();
      });
      child.stderr.on("data", (c: Buffer) => {
        output += c.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      const deadline = Date.now() + 120_000;
      while (!/running at (\S+)/.test(output) && Date.now() < deadline && child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 200));
      }
      const url = /running at (\S+)/.exec(output)?.[1];
      expect(url, output).toBeDefined();
      expect(output).toContain("Server processes: 2");
      expect(output).toMatch(/\/setup#ppsu_/);

      const workers = (await readFile(`/proc/${child.pid}/task/${child.pid}/children`, "utf8"))
        .trim()
        .split(/\s+/);
      expect(workers).toHaveLength(2);
      const ca = await readFile(path.join(dataDir, "tls", "ca.crt"), "utf8");
      const statuses = await Promise.all(Array.from({ length: 20 }, () => get(`${url}/readyz`, ca)));
      expect(statuses.every((s) => s === 200)).toBe(true);

      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    });
  });
}

if (onPostgres) postgresSuite();
else embeddedSuite();
