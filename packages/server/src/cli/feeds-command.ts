import { SingleBar } from "cli-progress";
import { Command } from "commander";
import { type ImportProgress, importFeedBundle } from "../vulns/feeds/import/import-feeds.js";
import { type FeedSyncReport, SOURCE_KEYS, syncFeeds } from "../vulns/feeds/sync/feed-sync.js";
import { feedStatus } from "../vulns/findings/feed-status.js";
import { CLI_CONTEXT, withDatabase } from "./with-database.js";

/** A bar on a terminal; nothing in a pipe or a log, where the summary after the run says it all. */
function terminalProgress(): ImportProgress | undefined {
  if (!process.stderr.isTTY) return undefined;
  const bar = new SingleBar({
    stream: process.stderr,
    format: "importing {bar} {value}/{total} files | {stored} records | {file}",
    hideCursor: true,
    clearOnComplete: false,
  });
  return {
    start: (total) => bar.start(total, 0, { stored: 0, file: "" }),
    file: (name, done, stored) =>
      bar.update(done, { stored, file: name.length > 40 ? `…${name.slice(-39)}` : name }),
    end: () => bar.stop(),
  };
}

/** One line per feed: what the run did, or why it failed. */
function syncLine(r: FeedSyncReport): string {
  const seconds = `${(r.durationMs / 1000).toFixed(1)} s`;
  if (r.status === "failed") return `${r.feed}: FAILED after ${seconds}: ${r.error}\n`;
  const counts =
    r.status === "unchanged"
      ? "unchanged"
      : `${r.stored} stored, ${r.unchanged} unchanged, ${r.withdrawn} withdrawn, ` +
        `${r.scores > 0 ? `${r.scores} scores, ` : ""}${r.skipped} skipped`;
  return `${r.feed}: ${counts} (${seconds})\n`;
}

export function feedsCommand(): Command {
  const feeds = new Command("feeds").description("the vulnerability knowledge base's advisory feeds");
  feeds
    .command("import")
    .description(
      "import feed files for an offline site: a file, a directory, a .zip or a .tar.gz of OSV, NVD API 2.0, " +
        "Debian tracker, Alpine secdb, KEV, EPSS, CSAF or CVRF files in their published formats",
    )
    .argument("<path>", "file, directory or bundle")
    .action(async (path: string) => {
      await withDatabase(async (db) => {
        const outcome = await importFeedBundle(db, path, {
          context: CLI_CONTEXT,
          progress: terminalProgress(),
        });
        for (const f of outcome.feeds) {
          process.stdout.write(
            `${f.feed}: ${f.stored} stored, ${f.unchanged} unchanged, ${f.withdrawn} withdrawn, ` +
              `${f.kev + f.epss > 0 ? `${f.kev + f.epss} scores, ` : ""}${f.skipped} skipped\n`,
          );
          for (const s of f.skippedSamples.slice(0, 5))
            process.stdout.write(`  skipped ${s.record}: ${s.reason}\n`);
        }
        for (const f of outcome.failed) process.stdout.write(`not imported: ${f.name}: ${f.reason}\n`);
        if (outcome.unrecognised.length > 0) {
          const shown = outcome.unrecognised.slice(0, 5).join(", ");
          const more = outcome.unrecognised.length > 5 ? ` and ${outcome.unrecognised.length - 5} more` : "";
          process.stdout.write(`not a feed format: ${shown}${more}\n`);
        }
        if (outcome.feeds.length === 0) {
          process.stderr.write(`patchpilot feeds import: no feed file could be imported from ${path}\n`);
          process.exitCode = 1;
        }
      });
    });
  feeds
    .command("status")
    .description("each feed's last success, record count and last error (exit 1 if any is stale or failing)")
    .option("--json", "print JSON")
    .action(async (opts: { json?: boolean }) => {
      await withDatabase(async (db) => {
        const status = await feedStatus(db);
        if (opts.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        else if (status.length === 0) process.stdout.write("no feed has been imported or synced yet\n");
        for (const s of opts.json ? [] : status) {
          const state = s.lastError ? "FAILING" : s.stale ? "STALE" : "ok";
          process.stdout.write(
            `${state.padEnd(8)}${s.feed.padEnd(16)} last success ${s.lastSuccessAt ?? "never"}, ${s.records} records, ` +
              `${s.skipped} skipped${s.lastError ? `; last error: ${s.lastError}` : ""}\n`,
          );
        }
        if (status.length === 0 || status.some((s) => s.stale || s.lastError)) process.exitCode = 1;
      });
    });
  feeds
    .command("sync")
    .description(
      "fetch what changed in the advisory feeds from their sources now (exit 1 if any source failed)",
    )
    .option(
      "--only <feeds>",
      `comma-separated sources (${SOURCE_KEYS.join(", ")}) or feed names such as osv:PyPI`,
    )
    .action(async (opts: { only?: string }) => {
      const only = opts.only
        ?.split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      await withDatabase(async (db, config) => {
        const reports = await syncFeeds(db, config, {
          only,
          context: CLI_CONTEXT,
          log: (message) => process.stderr.write(`${message}\n`),
        });
        for (const r of reports) process.stdout.write(syncLine(r));
        if (reports.some((r) => r.status === "failed")) process.exitCode = 1;
      });
    });
  return feeds;
}
