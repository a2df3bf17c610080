import { Command } from "commander";
import { createFirstOrganization } from "../organizations/setup.js";
import { CLI_CONTEXT, readSecret, withDatabase } from "./with-database.js";

export function setupCommand(): Command {
  return new Command("setup")
    .description("create the first organisation and its Owner without the browser")
    .requiredOption("--organization <name>", "the organisation's name")
    .requiredOption("--email <email>", "the Owner's email address")
    .requiredOption("--name <name>", "the Owner's name")
    .addHelpText(
      "after",
      "\nThe password is read from PATCHPILOT_SETUP_PASSWORD or the first line of standard input.",
    )
    .action(async (opts: { organization: string; email: string; name: string }) => {
      const password = await readSecret("PATCHPILOT_SETUP_PASSWORD", "Owner's password: ");
      await withDatabase(async (db) => {
        const result = await createFirstOrganization(
          db,
          {
            organizationName: opts.organization,
            email: opts.email,
            name: opts.name,
            password,
            setupToken: null,
          },
          CLI_CONTEXT,
          { openSession: false },
        );
        process.stdout.write(`created organisation ${result.organizationId} with Owner ${result.userId}\n`);
      });
    });
}
