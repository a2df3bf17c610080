import { Command } from "commander";
import { verifyAllChains } from "../audit/verify.js";
import { withDatabase } from "./with-database.js";

export function auditCommand(): Command {
  const audit = new Command("audit").description("the append-only audit trail");
  audit
    .command("verify")
    .description("recompute every audit hash chain and report the first broken link (exit 1 if any)")
    .option("--org <id>", "only this organisation")
    .action(async (opts: { org?: string }) => {
      await withDatabase(async (db) => {
        const reports = await verifyAllChains(db.systemReader, opts.org);
        let broken = 0;
        for (const r of reports) {
          const where = `${r.organizationId} ${r.chain}`;
          if (r.valid) {
            process.stdout.write(`ok      ${where}: ${r.checkedRows} rows\n`);
          } else {
            broken++;
            process.stdout.write(
              `BROKEN  ${where}: first broken link at seq ${r.firstBroken?.seq}: ${r.firstBroken?.reason}\n`,
            );
          }
        }
        if (reports.length === 0) process.stdout.write("no audit chains found\n");
        if (broken > 0) process.exitCode = 1;
      });
    });
  return audit;
}
