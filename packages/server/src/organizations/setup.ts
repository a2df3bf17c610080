import { generateToken, hashToken, isWellFormedToken } from "@patchpilot/protocol";
import { sql } from "kysely";
import { PLATFORM_ORGANIZATION_ID } from "../audit/chain.js";
import type { Database } from "../db/database.js";
import type { AuditContext } from "../db/unit-of-work.js";
import { AppError } from "../http/errors.js";
import { assertPasswordAcceptable, hashPassword } from "../identity/passwords.js";
import { openSession } from "../identity/sessions.js";
import { normalizeEmail } from "../identity/sign-in.js";
import { createOrganization, createUser } from "./create-organization.js";

const SETUP_TOKEN_TTL_MS = 24 * 3600 * 1000;

export interface FirstOrganizationInput {
  organizationName: string;
  name: string;
  email: string;
  password: string;
}

export async function isSetUp(db: Database): Promise<boolean> {
  const row = await db.systemReader.selectFrom("organizations").select("id").limit(1).executeTakeFirst();
  return row !== undefined;
}

/**
 * A one-time link for creating the first organisation, issued at start while there is none.
 * Earlier unused links stop working, so only the newest printed link is valid.
 */
export async function issueSetupToken(db: Database, context: AuditContext): Promise<string | null> {
  if (await isSetUp(db)) return null;
  const token = generateToken("setup");
  await db.system(context, async (tx) => {
    await tx.db.deleteFrom("setup_tokens").where("used_at", "is", null).execute();
    await tx.db
      .insertInto("setup_tokens")
      .values({ token_hash: hashToken(token), expires_at: new Date(Date.now() + SETUP_TOKEN_TTL_MS) })
      .execute();
    tx.audit(PLATFORM_ORGANIZATION_ID, { action: "setup.link_issued" });
  });
  return token;
}

/** Creates the first organisation and its Owner. With a setup token (the browser path) it is spent. */
export async function createFirstOrganization(
  db: Database,
  input: FirstOrganizationInput & { setupToken: string | null },
  context: AuditContext,
  options: { openSession: boolean },
): Promise<{ organizationId: string; userId: string; session: { token: string; sessionId: string } | null }> {
  if (input.setupToken !== null && !isWellFormedToken("setup", input.setupToken)) {
    throw new AppError("setup.invalid_token", { field: "setupToken" });
  }
  assertPasswordAcceptable(input.password);
  const passwordHash = await hashPassword(input.password);
  return db.system(context, async (tx) => {
    // Serialises concurrent attempts: only one can create the first organisation.
    await sql`SELECT pg_advisory_xact_lock(7004116012)`.execute(tx.db);
    if (await tx.db.selectFrom("organizations").select("id").limit(1).executeTakeFirst()) {
      throw new AppError("setup.already_done");
    }
    if (input.setupToken !== null) {
      const spent = await tx.db
        .updateTable("setup_tokens")
        .set({ used_at: new Date() })
        .where("token_hash", "=", hashToken(input.setupToken))
        .where("used_at", "is", null)
        .where("expires_at", ">", new Date())
        .executeTakeFirst();
      if (spent.numUpdatedRows !== 1n) throw new AppError("setup.invalid_token", { field: "setupToken" });
    }
    const userId = await createUser(tx, {
      email: normalizeEmail(input.email),
      name: input.name,
      passwordHash,
    });
    const organizationId = await createOrganization(tx, {
      name: input.organizationName,
      ownerUserId: userId,
    });
    tx.audit(PLATFORM_ORGANIZATION_ID, {
      action: "setup.completed",
      target: { type: "organization", id: organizationId },
      details: { via: input.setupToken === null ? "cli" : "setup_link" },
    });
    const session = options.openSession ? await openSession(tx, userId, context) : null;
    return { organizationId, userId, session };
  });
}
