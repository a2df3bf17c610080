import { readFile } from "node:fs/promises";
import { Command } from "commander";
import { parsePublicKeyPem } from "../compliance/evidence/evidence-key.js";
import { verifyEvidencePack } from "../compliance/evidence/pack-verify.js";

export function evidenceCommand(): Command {
  const evidence = new Command("evidence").description("signed compliance evidence packs");
  evidence
    .command("verify")
    .description(
      "check an evidence pack offline: archive and manifest signatures and every file's SHA-256 (exit 1 if not)",
    )
    .argument("<pack>", "the evidence pack (.zip)")
    .requiredOption("--public-key <path>", "the server's evidence public key (PEM), as the console shows it")
    .action(async (pack: string, opts: { publicKey: string }) => {
      const publicKey = parsePublicKeyPem(await readFile(opts.publicKey, "utf8"));
      const result = await verifyEvidencePack(await readFile(pack), publicKey);
      if (result.valid) {
        const m = result.manifest;
        process.stdout.write(
          `ok: ${result.files} files verified; ${m?.framework?.id ?? "?"} pack for ${m?.organization?.name ?? "?"}\n`,
        );
      } else {
        for (const problem of result.problems) process.stdout.write(`FAILED: ${problem}\n`);
        process.exitCode = 1;
      }
    });
  return evidence;
}
