#!/usr/bin/env node
import path from "node:path";
import { Command } from "commander";
import { collectFacts, collectInventory } from "./collectors/index.js";
import { stderrLog } from "./log.js";
import { DEFAULT_HOOKS_DIR } from "./patch/hooks.js";
import { runAgent } from "./run/agent-loop.js";
import { enroll } from "./run/enroll.js";
import { AgentState, defaultStateDir } from "./state/agent-state.js";
import { ReportQueue } from "./state/report-queue.js";
import { AGENT_VERSION } from "./version.js";

/** Exit status when the server refused the device token: systemd must not restart the agent. */
export const EXIT_REVOKED = 3;

const stateOption = [
  "--state-dir <dir>",
  "where the agent keeps its token, CA and queue",
  process.env.PATCHPILOT_AGENT_STATE_DIR || defaultStateDir(),
] as const;

const program = new Command()
  .name("patchpilot-agent")
  .description("PatchPilot endpoint agent: reports what is installed and runs patch jobs")
  .version(AGENT_VERSION)
  .showHelpAfterError();

program
  .command("enroll")
  .description("enrol this machine with an organisation's enrolment token")
  .requiredOption("--server <url>", "the PatchPilot server, e.g. https://patchpilot.example.com:8443")
  .option(
    "--token <ppk_…>",
    "the enrolment token (or set PATCHPILOT_ENROLLMENT_TOKEN, which keeps it out of the process list)",
  )
  .option("--ca-file <file>", "the server's root CA certificate (PEM)")
  .option("--ca-pin <sha256/…>", "or the SHA-256 pin of the root CA's key, as the server prints it")
  .option(...stateOption)
  .option("--root <dir>", "the filesystem root whose facts are reported (default /)")
  .action(
    async (options: {
      root?: string;
      server: string;
      token?: string;
      caFile?: string;
      caPin?: string;
      stateDir: string;
    }) => {
      const token = options.token ?? process.env.PATCHPILOT_ENROLLMENT_TOKEN;
      if (!token) throw new Error("give the enrolment token with --token or PATCHPILOT_ENROLLMENT_TOKEN");
      const enrolled = await enroll(
        new AgentState(options.stateDir),
        {
          server: options.server,
          token,
          ...(options.caFile ? { caFile: options.caFile } : {}),
          ...(options.caPin ? { caPin: options.caPin } : {}),
          ...(options.root ? { root: options.root } : {}),
        },
        stderrLog,
      );
      process.stdout.write(
        `${JSON.stringify({ deviceId: enrolled.deviceId, organizationId: enrolled.organizationId })}\n`,
      );
    },
  );

program
  .command("run")
  .description("check in and run jobs until stopped (the service's command)")
  .option(...stateOption)
  .option("--once", "check in once, deliver what is queued, and exit")
  .option("--interval <seconds>", "check in this often instead of what the server asks", (v) =>
    Number.parseInt(v, 10),
  )
  .option("--job-wait <seconds>", "how long each wait for jobs lasts at the server", (v) =>
    Number.parseInt(v, 10),
  )
  .option("--root <dir>", "the filesystem root to inventory and patch (default /)")
  .option("--hooks-dir <dir>", "where patch jobs' pre-update and health-check hooks live", DEFAULT_HOOKS_DIR)
  .action(
    async (options: {
      stateDir: string;
      once?: boolean;
      interval?: number;
      jobWait?: number;
      root?: string;
      hooksDir: string;
    }) => {
      const controller = new AbortController();
      for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => controller.abort());
      const reason = await runAgent(new AgentState(options.stateDir), stderrLog, {
        signal: controller.signal,
        ...(options.once ? { once: true } : {}),
        ...(options.interval ? { intervalSeconds: options.interval } : {}),
        ...(options.jobWait !== undefined ? { jobWaitSeconds: options.jobWait } : {}),
        ...(options.root ? { root: path.resolve(options.root) } : {}),
        hooksDir: path.resolve(options.hooksDir),
      });
      if (reason === "revoked") process.exitCode = EXIT_REVOKED;
    },
  );

program
  .command("status")
  .description("show the enrolment and what waits to be sent")
  .option(...stateOption)
  .action(async (options: { stateDir: string }) => {
    const state = new AgentState(options.stateDir);
    const credentials = await state.credentials();
    const acknowledged = await state.acknowledgedInventory();
    const queued = credentials
      ? (await new ReportQueue(state.queueDir).pending()).map((e) => e.report.kind)
      : [];
    process.stdout.write(
      `${JSON.stringify(
        {
          enrolled: credentials !== null,
          server: credentials?.serverUrl ?? null,
          deviceId: credentials?.deviceId ?? null,
          acknowledgedInventoryHash: acknowledged?.hash ?? null,
          queuedReports: queued,
        },
        null,
        2,
      )}\n`,
    );
  });

program
  .command("inventory")
  .description("print what this machine would report (facts and inventory), without sending it")
  .option("--root <dir>", "the filesystem root to inventory (default /)")
  .action(async (options: { root?: string }) => {
    const root = options.root ?? "/";
    const facts = await collectFacts({ agentVersion: AGENT_VERSION, root });
    const { inventory, warnings } = await collectInventory({ root });
    process.stdout.write(`${JSON.stringify({ ...facts, inventory, warnings }, null, 2)}\n`);
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  stderrLog("error", error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
