import { Command } from "commander";
import {
  addMember,
  listOrganizationMembers,
  parseRole,
  resetPassword,
  revokeAllSessions,
} from "../identity/user-admin.js";
import { CLI_CONTEXT, readSecret, withDatabase } from "./with-database.js";

export function userCommand(): Command {
  const user = new Command("user").description("manage people's accounts and memberships");
  user
    .command("list")
    .description("list an organisation's members")
    .requiredOption("--org <id>", "organisation id")
    .action(async (opts: { org: string }) => {
      await withDatabase(async (db) => {
        for (const m of await listOrganizationMembers(db, opts.org)) {
          process.stdout.write(`${m.id}\t${m.role}\t${m.email}\t${m.name}\n`);
        }
      });
    });
  user
    .command("add")
    .description("add a person to an organisation (creating the account if needed)")
    .requiredOption("--org <id>", "organisation id")
    .requiredOption("--email <email>", "email address")
    .requiredOption("--name <name>", "name")
    .requiredOption("--role <role>", "owner, admin, operator or auditor")
    .addHelpText(
      "after",
      "\nA new account's password is read from PATCHPILOT_USER_PASSWORD or standard input.",
    )
    .action(async (opts: { org: string; email: string; name: string; role: string }) => {
      const role = parseRole(opts.role);
      await withDatabase(async (db) => {
        const exists = await db.systemReader
          .selectFrom("users")
          .select("id")
          .where("email", "=", opts.email.trim().toLowerCase())
          .executeTakeFirst();
        const password = exists ? null : await readSecret("PATCHPILOT_USER_PASSWORD", "Password: ");
        const id = await addMember(db, CLI_CONTEXT, {
          organizationId: opts.org,
          email: opts.email,
          name: opts.name,
          role,
          password,
        });
        process.stdout.write(`added ${id} as ${role}\n`);
      });
    });
  user
    .command("set-password")
    .description("set a person's password and sign them out everywhere")
    .requiredOption("--email <email>", "email address")
    .addHelpText("after", "\nThe password is read from PATCHPILOT_USER_PASSWORD or standard input.")
    .action(async (opts: { email: string }) => {
      const password = await readSecret("PATCHPILOT_USER_PASSWORD", "New password: ");
      await withDatabase(async (db) => {
        await resetPassword(db, CLI_CONTEXT, opts.email, password);
        process.stdout.write("password set; all sessions ended\n");
      });
    });
  user
    .command("revoke-sessions")
    .description("sign a person out of every session")
    .requiredOption("--email <email>", "email address")
    .action(async (opts: { email: string }) => {
      await withDatabase(async (db) => {
        process.stdout.write(`revoked ${await revokeAllSessions(db, CLI_CONTEXT, opts.email)} sessions\n`);
      });
    });
  return user;
}
