#!/usr/bin/env node
import { Command } from "commander";
import { auditCommand } from "./audit-command.js";
import { backupCommand } from "./backup-command.js";
import { evidenceCommand } from "./evidence-command.js";
import { feedsCommand } from "./feeds-command.js";
import { migrateCommand, serveCommand } from "./serve-command.js";
import { setupCommand } from "./setup-command.js";
import { userCommand } from "./user-command.js";
import { vercmpCommand } from "./vercmp-command.js";

const program = new Command()
  .name("patchpilot")
  .description("PatchPilot: self-hosted patch and vulnerability management")
  .option("--env-file <path>", "read settings from an EnvironmentFile (mode 0600), as systemd does")
  .hook("preAction", (cmd) => {
    const envFile = cmd.opts<{ envFile?: string }>().envFile;
    if (envFile) process.env.PATCHPILOT_ENV_FILE = envFile;
  })
  .showHelpAfterError();

program.addCommand(serveCommand());
program.addCommand(migrateCommand());
program.addCommand(setupCommand());
program.addCommand(userCommand());
program.addCommand(auditCommand());
program.addCommand(vercmpCommand());
program.addCommand(feedsCommand());
program.addCommand(evidenceCommand());
program.addCommand(backupCommand());

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`patchpilot: ${message}\n`);
  process.exitCode = 1;
});
