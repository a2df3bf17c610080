import type { Database } from "../../../db/database.js";
import type { AuditContext } from "../../../db/unit-of-work.js";
import {
  type FeedImportSummary,
  KnowledgeBaseWriter,
  recordFeedFailure,
} from "../../knowledge-base/knowledge-base-writer.js";
import type { FeedSource, NormalizedAdvisory, ParseResult } from "../model.js";
import { parseAlpineSecdbFiles } from "../parsers/alpine-secdb.js";
import { parseCsafDocument } from "../parsers/csaf.js";
import { parseCvrfDocument } from "../parsers/cvrf.js";
import { parseDebianTracker } from "../parsers/debian-tracker.js";
import { detectFeedFormat, type FeedFormat } from "../parsers/detect.js";
import { parseEpssCsv } from "../parsers/epss.js";
import { FeedFormatError } from "../parsers/errors.js";
import { parseKevCsv, parseKevJson } from "../parsers/kev.js";
import { parseNvdPage } from "../parsers/nvd.js";
import { parseOsvDocuments } from "../parsers/osv.js";
import { decodeFeedText } from "../parsers/text.js";
import { parseTrivyFixture } from "../parsers/trivy-fixture.js";
import { openFeedBundle, type RefusedFile } from "./feed-files.js";

/** What the importer reports as it goes, for a progress bar. */
export interface ImportProgress {
  start(total: number): void;
  file(name: string, done: number, stored: number): void;
  end(): void;
}

export interface ImportOutcome {
  feeds: FeedImportSummary[];
  /** Files no feed format fits (a README beside the feeds, say). */
  unrecognised: string[];
  /** Files that were not read, or whose whole content was unusable, with the reason. */
  failed: RefusedFile[];
}

const HEAD_CHARS = 4096;

const SOURCE_OF: Readonly<Record<FeedFormat, FeedSource>> = {
  osv: "osv",
  nvd: "nvd",
  "debian-tracker": "debian-tracker",
  "alpine-secdb": "alpine-secdb",
  "kev-json": "kev",
  "kev-csv": "kev",
  "epss-csv": "epss",
  csaf: "csaf",
  cvrf: "cvrf",
  "trivy-fixture": "trivy-fixture",
};

/**
 * Formats read after the rest: secdb files only make sense together (one per release), so do
 * Trivy's buckets; EPSS scores only the CVEs the knowledge base holds, so it comes last.
 */
type Collected = "alpine-secdb" | "trivy-fixture" | "epss-csv";

const ADVISORY_PARSERS: Readonly<
  Record<
    Exclude<FeedFormat, Collected | "kev-json" | "kev-csv">,
    (text: string) => ParseResult<NormalizedAdvisory>
  >
> = {
  osv: (text) => parseOsvDocuments([text]),
  nvd: (text) => parseNvdPage(text),
  "debian-tracker": (text) => parseDebianTracker(text),
  csaf: (text) => parseCsafDocument(text),
  cvrf: (text) => parseCvrfDocument(text),
};

/**
 * Imports an offline bundle — a file, a directory, a zip or a tar.gz of feed files in their
 * published formats — into the knowledge base. Each file's format is recognised from its head; a
 * file that is not a feed, or not readable as the format it looks like, is reported and the import
 * goes on; a malformed record inside a good file is skipped and counted by its feed. Every feed
 * touched records its run (feed health) and queues the re-match of the packages it changed.
 */
export async function importFeedBundle(
  db: Database,
  path: string,
  options: { context?: AuditContext; progress?: ImportProgress } = {},
): Promise<ImportOutcome> {
  const bundle = await openFeedBundle(path);
  const writers = new Map<FeedSource, KnowledgeBaseWriter>();
  const writer = (source: FeedSource) => {
    let w = writers.get(source);
    if (!w) {
      w = new KnowledgeBaseWriter(db, source, options.context);
      writers.set(source, w);
    }
    return w;
  };
  const stored = () =>
    [...writers.values()].reduce((n, w) => n + w.summary.stored + w.summary.kev + w.summary.epss, 0);
  const collected: Record<Collected, Map<string, string>> = {
    "alpine-secdb": new Map(),
    "trivy-fixture": new Map(),
    "epss-csv": new Map(),
  };
  const unrecognised: string[] = [];
  const failed: RefusedFile[] = [];
  const progress = options.progress;
  progress?.start(bundle.total);
  let done = 0;
  try {
    for await (const file of bundle.files) {
      progress?.file(file.name, ++done, stored());
      let text: string;
      try {
        text = decodeFeedText(await file.read());
      } catch (error) {
        failed.push({ name: file.name, reason: error instanceof Error ? error.message : String(error) });
        continue;
      }
      const format = detectFeedFormat(file.name, text.slice(0, HEAD_CHARS));
      if (format === null) unrecognised.push(file.name);
      else if (format === "alpine-secdb" || format === "trivy-fixture" || format === "epss-csv") {
        collected[format].set(file.name, text);
      } else await importFile(format, text, file.name, writer, failed);
    }
    if (collected["alpine-secdb"].size > 0) {
      await guarded("alpine-secdb", failed, async () => {
        const result = parseAlpineSecdbFiles(collected["alpine-secdb"].values());
        const w = writer("alpine-secdb");
        w.skip(result.skipped);
        await w.advisories(result.records);
      });
    }
    if (collected["trivy-fixture"].size > 0) {
      await guarded("trivy fixture", failed, async () => {
        const result = parseTrivyFixture(Object.fromEntries(collected["trivy-fixture"]));
        const w = writer("trivy-fixture");
        w.skip(result.skipped);
        await w.advisories(result.records);
      });
    }
    for (const [name, text] of collected["epss-csv"])
      await importFile("epss-csv", text, name, writer, failed);
    failed.unshift(...bundle.refused);
    const feeds: FeedImportSummary[] = [];
    for (const w of writers.values())
      feeds.push(await w.finish(undefined, { importedFrom: path.split("/").pop() }));
    return { feeds, unrecognised, failed };
  } catch (error) {
    for (const source of writers.keys()) await recordFeedFailure(db, source, error).catch(() => {});
    throw error;
  } finally {
    progress?.end();
    await bundle.close();
  }
}

/** A file the parser refuses as a whole is reported; anything else (the database) stops the import. */
async function guarded(name: string, failed: RefusedFile[], work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (!(error instanceof FeedFormatError)) throw error;
    failed.push({ name, reason: error.message });
  }
}

async function importFile(
  format: Exclude<FeedFormat, "alpine-secdb" | "trivy-fixture">,
  text: string,
  name: string,
  writer: (source: FeedSource) => KnowledgeBaseWriter,
  failed: RefusedFile[],
): Promise<void> {
  // The file is parsed before its feed's writer exists, so a file refused as a whole does not
  // count as a successful run of that feed.
  await guarded(name, failed, async () => {
    if (format === "kev-json" || format === "kev-csv") {
      const result = format === "kev-json" ? parseKevJson(text) : parseKevCsv(text);
      const w = writer("kev");
      w.skip(result.skipped);
      await w.kev(result.records);
    } else if (format === "epss-csv") {
      const result = parseEpssCsv(text);
      const w = writer("epss");
      w.skip(result.skipped);
      await w.epss(result.records);
    } else {
      const result = ADVISORY_PARSERS[format](text);
      const w = writer(SOURCE_OF[format]);
      w.skip(result.skipped);
      await w.advisories(result.records);
    }
  });
}
