import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addTestMember, createTestOrg, type TestOrg } from "../testing/app.js";
import { createTestDatabase, SYSTEM_CONTEXT, type TestDatabase } from "../testing/database.js";
import {
  assertIsolationEnforced,
  findIsolationProblems,
  UnsafeDatabaseRoleError,
} from "./tenant-isolation.js";
import { AuditMissingError } from "./unit-of-work.js";

let t: TestDatabase;
let a: TestOrg;
let b: TestOrg;

beforeAll(async () => {
  t = await createTestDatabase();
  a = await createTestOrg(t.db, "Tenant A");
  b = await createTestOrg(t.db, "Tenant B");
  await addTestMember(t.db, a.organizationId, "operator");
  await addTestMember(t.db, b.organizationId, "auditor");
});
afterAll(() => t.drop());

const TENANT_TABLES = [
  "organizations",
  "users",
  "memberships",
  "invitations",
  "audit_events",
  "audit_chain_heads",
  "device_events",
] as const;

describe(`tenant handle (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"})`, () => {
  it("shows only its own organisation's rows to a query with no WHERE clause at all", async () => {
    for (const org of [a, b]) {
      const other = org === a ? b : a;
      for (const table of TENANT_TABLES) {
        const rows = await t.db.withOrganization(
          org.organizationId,
          SYSTEM_CONTEXT,
          async (tx) =>
            (await sql<Record<string, unknown>>`SELECT * FROM ${sql.table(table)}`.execute(tx.db)).rows,
        );
        const ids = JSON.stringify(rows);
        expect(ids, `${table} leaks the other tenant`).not.toContain(other.organizationId);
        if (table !== "device_events" && table !== "invitations")
          expect(rows.length, table).toBeGreaterThan(0);
      }
      const users = await t.db.withOrganization(
        org.organizationId,
        SYSTEM_CONTEXT,
        async (tx) => (await sql<{ email: string }>`SELECT email FROM users`.execute(tx.db)).rows,
      );
      expect(users.map((u) => u.email)).toContain(org.owner.email);
      expect(users.map((u) => u.email)).not.toContain(other.owner.email);
    }
  });

  it("runs as the non-superuser application role", async () => {
    const who = await t.db.withOrganization(
      a.organizationId,
      SYSTEM_CONTEXT,
      async (tx) =>
        (
          await sql<{
            u: string;
            s: boolean;
          }>`SELECT current_user AS u, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS s`.execute(
            tx.db,
          )
        ).rows[0],
    );
    expect(who).toEqual({ u: "patchpilot_app", s: false });
  });

  it("refuses to write a row into another organisation", async () => {
    await expect(
      t.db.withOrganization(a.organizationId, SYSTEM_CONTEXT, async (tx) => {
        await sql`INSERT INTO memberships (organization_id, user_id, role) VALUES (${b.organizationId}, ${a.owner.userId}, 'auditor')`.execute(
          tx.db,
        );
      }),
    ).rejects.toThrow(/row-level security/);
  });

  it("cannot change another organisation's rows even by naming them", async () => {
    await t.db.withOrganization(a.organizationId, SYSTEM_CONTEXT, async (tx) => {
      const result = await tx.db
        .updateTable("organizations")
        .set({ name: "hijacked" })
        .where("id", "=", b.organizationId)
        .executeTakeFirst();
      expect(result.numUpdatedRows).toBe(0n);
      tx.audit({ action: "test.noop" });
    });
    const name = await t.db.systemReader
      .selectFrom("organizations")
      .select("name")
      .where("id", "=", b.organizationId)
      .executeTakeFirstOrThrow();
    expect(name.name).toBe("Tenant B");
  });

  it("rolls back a change that wrote no audit row", async () => {
    await expect(
      t.db.withOrganization(a.organizationId, SYSTEM_CONTEXT, async (tx) => {
        await tx.db.updateTable("organizations").set({ name: "unaudited" }).execute();
      }),
    ).rejects.toBeInstanceOf(AuditMissingError);
    const name = await t.db.systemReader
      .selectFrom("organizations")
      .select("name")
      .where("id", "=", a.organizationId)
      .executeTakeFirstOrThrow();
    expect(name.name).toBe("Tenant A");
  });
});

describe("append-only audit tables", () => {
  for (const statement of [
    "UPDATE audit_events SET action = 'x'",
    "DELETE FROM audit_events",
    "UPDATE device_events SET event_type = 'x'",
  ]) {
    it(`rejects "${statement}" from the application role`, async () => {
      await expect(
        t.db.withOrganization(a.organizationId, SYSTEM_CONTEXT, (tx) => sql.raw(statement).execute(tx.db)),
      ).rejects.toThrow(/permission denied|append-only/);
    });
  }

  it("rejects UPDATE, DELETE and TRUNCATE even from the schema owner", async () => {
    for (const statement of [
      "UPDATE audit_events SET action = 'x'",
      "DELETE FROM audit_events",
      "TRUNCATE audit_events",
    ]) {
      await expect(t.db.owner.exec(statement)).rejects.toThrow(/append-only/);
    }
  });
});

describe("schema isolation check", () => {
  it("finds every tenant table forced under row-level security with a tenant policy", async () => {
    expect(await findIsolationProblems(t.db.owner.query)).toEqual([]);
    await expect(assertIsolationEnforced(t.db.owner.query)).resolves.toBeUndefined();
  });

  // Planted defects, rolled back: the checks must notice each one.
  it("notices a tenant table without forced RLS, and a table that is neither tenant nor global", async () => {
    await t.db.owner.exec("BEGIN");
    try {
      await t.db.owner.exec("CREATE TABLE planted_leak (organization_id uuid, secret text)");
      await t.db.owner.exec("CREATE TABLE planted_global (id int)");
      await t.db.owner.exec("ALTER TABLE invitations NO FORCE ROW LEVEL SECURITY");
      const problems = await findIsolationProblems(t.db.owner.query);
      expect(problems).toEqual(
        expect.arrayContaining([
          { table: "planted_leak", problem: "row-level security is not enabled" },
          { table: "planted_leak", problem: "has no policy for patchpilot_app" },
          { table: "planted_global", problem: "has no organization_id and is not a listed global table" },
          { table: "invitations", problem: "row-level security is not forced" },
        ]),
      );
    } finally {
      await t.db.owner.exec("ROLLBACK");
    }
  });

  it("refuses to serve when the application role could bypass RLS", async () => {
    await t.db.owner.exec("BEGIN");
    try {
      await t.db.owner.exec("ALTER ROLE patchpilot_app BYPASSRLS");
      await expect(assertIsolationEnforced(t.db.owner.query)).rejects.toBeInstanceOf(UnsafeDatabaseRoleError);
    } finally {
      await t.db.owner.exec("ROLLBACK");
    }
  });
});
