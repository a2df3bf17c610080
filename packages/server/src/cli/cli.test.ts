import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../db/open.js";
import { TEST_PASSWORD } from "../testing/app.js";
import { runCli } from "../testing/cli.js";
import { createTestDatabase, type TestDatabase } from "../testing/database.js";

// The CLI runs in its own process on the test's own database: a scratch PostgreSQL database when
// DATABASE_URL is set, otherwise an embedded one in a temporary data directory.
let dataDir: string;
let env: Record<string, string>;
let pgDb: TestDatabase | null = null;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "pp-cli-"));
  env = { PATCHPILOT_DATA_DIR: dataDir };
  if (process.env.DATABASE_URL) {
    pgDb = await createTestDatabase();
    env.DATABASE_URL = pgDb.url ?? "";
  }
});
afterAll(async () => {
  await pgDb?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

// Each command is a fresh Node process compiling TypeScript on the fly: allow minutes, not seconds.
describe("patchpilot CLI", { timeout: 300_000 }, () => {
  it("documents every command with --help", async () => {
    for (const args of [
      [],
      ["serve"],
      ["migrate"],
      ["setup"],
      ["user"],
      ["user", "add"],
      ["audit"],
      ["audit", "verify"],
    ]) {
      const result = await runCli([...args, "--help"], env);
      expect(result.code, args.join(" ")).toBe(0);
      expect(result.stdout).toMatch(/Usage: patchpilot/);
    }
  });

  it("migrates, sets up the first organisation, manages users and verifies the audit trail", async () => {
    const migrated = await runCli(["migrate"], env);
    expect(migrated.code, migrated.stderr).toBe(0);
    expect((await runCli(["migrate"], env)).stdout).toMatch(/up to date/);

    const setup = await runCli(
      ["setup", "--organization", "CLI Ltd", "--email", "Owner@Example.test", "--name", "Cli Owner"],
      env,
      `${TEST_PASSWORD}\n`,
    );
    expect(setup.code, setup.stderr).toBe(0);
    const orgId = /created organisation ([0-9a-f-]{36})/.exec(setup.stdout)?.[1] ?? "";
    expect(orgId).not.toBe("");

    const again = await runCli(
      ["setup", "--organization", "Other", "--email", "x@example.test", "--name", "X"],
      {
        ...env,
        PATCHPILOT_SETUP_PASSWORD: TEST_PASSWORD,
      },
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already set up/);

    const added = await runCli(
      ["user", "add", "--org", orgId, "--email", "op@example.test", "--name", "Op", "--role", "operator"],
      { ...env, PATCHPILOT_USER_PASSWORD: TEST_PASSWORD },
    );
    expect(added.code, added.stderr).toBe(0);
    const badRole = await runCli(
      ["user", "add", "--org", orgId, "--email", "x@example.test", "--name", "X", "--role", "root"],
      env,
    );
    expect(badRole.code).toBe(1);
    expect(badRole.stderr).toMatch(/role must be one of/);

    const list = await runCli(["user", "list", "--org", orgId], env);
    expect(list.stdout).toMatch(/owner\towner@example\.test\tCli Owner/);
    expect(list.stdout).toMatch(/operator\top@example\.test\tOp/);

    const reset = await runCli(["user", "set-password", "--email", "op@example.test"], env, "short\n");
    expect(reset.code).toBe(1);
    expect(reset.stderr).toMatch(/at least 12 characters/);

    const verify = await runCli(["audit", "verify"], env);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(new RegExp(`ok      ${orgId} audit: \\d+ rows`));

    // Someone with database superuser rights rewrites history: verify must name the first bad row.
    const db = await openDatabase({
      databaseUrl: env.DATABASE_URL ?? null,
      pgliteDir: path.join(dataDir, "pgdata"),
    });
    try {
      await db.owner.exec("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only");
      await db.owner.query(
        "UPDATE audit_events SET action = 'forged' WHERE organization_id = $1 AND seq = 2",
        [orgId],
      );
      await db.owner.exec("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only");
    } finally {
      await db.close();
    }
    const tampered = await runCli(["audit", "verify", "--org", orgId], env);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(new RegExp(`BROKEN  ${orgId} audit: first broken link at seq 2`));
  });
});
