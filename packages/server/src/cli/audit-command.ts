import { readFile } from "node:fs/promises";
import { Command } from "commander";
import { verifyAllChains } from "../audit/verify.js";
import { verifyCheckpointAgainstChain } from "../compliance/checkpoints/checkpoints.js";
import { parsePublicKeyPem } from "../compliance/evidence/evidence-key.js";
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
  audit
    .command("verify-checkpoint")
    .description(
      "prove the chains in the database extend signed checkpoints (a JSON file from the API or an evidence pack); exit 1 if not",
    )
    .requiredOption(
      "--file <path>",
      "checkpoint JSON: one {statement, signature}, a list, or {checkpoints: [...]}",
    )
    .requiredOption("--public-key <path>", "the server's evidence public key (PEM), as the console shows it")
    .action(async (opts: { file: string; publicKey: string }) => {
      const publicKey = parsePublicKeyPem(await readFile(opts.publicKey, "utf8"));
      const parsed = JSON.parse(await readFile(opts.file, "utf8")) as unknown;
      const list = (
        Array.isArray(parsed)
          ? parsed
          : parsed && typeof parsed === "object" && "checkpoints" in parsed
            ? (parsed as { checkpoints: unknown[] }).checkpoints
            : [parsed]
      ) as { statement: string; signature: string }[];
      await withDatabase(async (db) => {
        let bad = 0;
        for (const c of list) {
          const check = await verifyCheckpointAgainstChain(db.systemReader, c, publicKey);
          const where = `${check.organizationId ?? "?"} ${check.chain ?? "?"} @${check.seq ?? "?"}`;
          process.stdout.write(`${check.valid ? "ok     " : "BROKEN "} ${where}: ${check.reason}\n`);
          if (!check.valid) bad++;
        }
        if (bad > 0 || list.length === 0) process.exitCode = 1;
      });
    });
  return audit;
}
