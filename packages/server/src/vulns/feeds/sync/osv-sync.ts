/**
 * OSV, one feed per ecosystem (`osv:Debian`) from the public bucket. The first run reads the
 * ecosystem's all.zip; later runs read `modified_id.csv` (`<modified>,<id>` lines, newest first)
 * down to the cursor and fetch each changed record, unless so many changed that all.zip is
 * cheaper. Record ids come from the source, so they are checked before they become a path.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KnowledgeBaseWriter } from "../../knowledge-base/knowledge-base-writer.js";
import { openFeedBundle } from "../import/feed-files.js";
import type { NormalizedAdvisory, SkippedRecord } from "../model.js";
import { parseOsvRecord } from "../parsers/osv.js";
import { decodeFeedText } from "../parsers/text.js";
import { downloadFeed, FeedFetchError, fetchFeed } from "./feed-fetch.js";
import { type FeedRun, type FeedRunContext, readJsonCursor, timeOf, validatorsOf } from "./feed-run.js";

const MAX_ZIP_BYTES = 2 * 1024 * 1024 * 1024;
const MAX_INDEX_BYTES = 128 * 1024 * 1024;
const MAX_RECORD_BYTES = 16 * 1024 * 1024;
const OSV_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
/** Records fetched at once; the bucket is a CDN, but a sync should not hammer it. */
const PARALLEL = 8;

export function osvFeeds(ecosystems: readonly string[]): FeedRun[] {
  return ecosystems.map((ecosystem) => ({
    source: "osv",
    feed: `osv:${ecosystem}`,
    run: (ctx) => syncOsvEcosystem(ctx, ecosystem),
  }));
}

interface Change {
  modified: Date;
  id: string;
}

async function syncOsvEcosystem(ctx: FeedRunContext, ecosystem: string) {
  const feed = `osv:${ecosystem}`;
  const base = `${ctx.settings.feedUrls.osv}${encodeURIComponent(ecosystem)}/`;
  const previous = readJsonCursor(ctx.cursor);
  const since = timeOf(previous.modified);
  const writer = ctx.writer();
  if (since === null) return fullSync(ctx, writer, base, feed);

  const index = await fetchFeed(
    `${base}modified_id.csv`,
    ctx.fetchOptions({ ...validatorsOf(previous), maxBytes: MAX_INDEX_BYTES }),
  );
  if (index.body === null) {
    ctx.log(`${feed}: not modified since the last sync`);
    return { summary: await writer.finish(ctx.cursor, { notModified: true }), changed: false };
  }
  const validators = { etag: index.etag, lastModified: index.lastModified };
  const { changes, malformed } = changesSince(decodeFeedText(index.body), since);
  writer.skip(malformed);
  if (changes.length > ctx.tuning.osvMaxChangedRecords) {
    ctx.log(`${feed}: ${changes.length} records changed, reading all.zip instead`);
    return fullSync(ctx, writer, base, feed);
  }
  ctx.log(`${feed}: ${changes.length} records changed since ${since.toISOString()}`);
  for (let i = 0; i < changes.length; i += PARALLEL) {
    const batch = await Promise.all(
      changes.slice(i, i + PARALLEL).map((change) => fetchRecord(ctx, base, change.id)),
    );
    for (const result of batch) {
      writer.skip(result.skipped);
      await writer.advisories(result.records);
    }
  }
  const newest = changes[0]?.modified ?? since;
  return {
    summary: await writer.finish(JSON.stringify({ modified: newest.toISOString(), ...validators }), {
      changed: changes.length,
    }),
    changed: changes.length > 0,
  };
}

/** The lines newer than `since` (the file is newest first, so reading stops at the first older one). */
function changesSince(text: string, since: Date): { changes: Change[]; malformed: SkippedRecord[] } {
  const changes: Change[] = [];
  const malformed: SkippedRecord[] = [];
  let lineNumber = 0;
  for (const raw of text.split("\n")) {
    lineNumber++;
    const line = raw.trim();
    if (line === "") continue;
    const comma = line.indexOf(",");
    const modified = comma < 0 ? null : timeOf(line.slice(0, comma));
    // The bucket's root index writes `<ecosystem>/<id>`; an ecosystem's own index just the id.
    const id =
      comma < 0
        ? ""
        : (line
            .slice(comma + 1)
            .split("/")
            .pop() ?? "");
    if (modified === null || !OSV_ID.test(id)) {
      malformed.push({
        record: `modified_id.csv line ${lineNumber}`,
        reason: "expected <RFC 3339 time>,<OSV id>",
      });
      continue;
    }
    if (modified <= since) break;
    changes.push({ modified, id });
  }
  return { changes, malformed };
}

async function fetchRecord(ctx: FeedRunContext, base: string, id: string) {
  try {
    const fetched = await fetchFeed(
      `${base}${encodeURIComponent(id)}.json`,
      ctx.fetchOptions({ headers: { accept: "application/json" }, maxBytes: MAX_RECORD_BYTES }),
    );
    return parseRecordText(decodeFeedText(fetched.body ?? Buffer.alloc(0)), id);
  } catch (error) {
    // The index can name a record that has since been withdrawn from the bucket.
    if (error instanceof FeedFetchError && error.status === 404) {
      return { records: [], skipped: [{ record: id, reason: "listed as modified but no longer published" }] };
    }
    throw error;
  }
}

/** One record file; text that is not JSON is one skipped record, not a failed run. */
function parseRecordText(
  text: string,
  label: string,
): { records: NormalizedAdvisory[]; skipped: SkippedRecord[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return {
      records: [],
      skipped: [{ record: label, reason: `not JSON (${error instanceof Error ? error.message : error})` }],
    };
  }
  return parseOsvRecord(parsed, label);
}

/**
 * The whole ecosystem from all.zip, streamed to a private temporary file and read entry by entry.
 * The cursor is the newest `modified` in the archive: every later change is newer than that.
 */
async function fullSync(ctx: FeedRunContext, writer: KnowledgeBaseWriter, base: string, feed: string) {
  const dir = await mkdtemp(join(tmpdir(), "patchpilot-osv-"));
  try {
    const file = join(dir, "all.zip");
    const url = `${base}all.zip`;
    ctx.log(`${feed}: downloading ${url}`);
    const downloaded = await downloadFeed(
      url,
      file,
      ctx.fetchOptions({ maxBytes: MAX_ZIP_BYTES, timeoutMs: ctx.tuning.downloadTimeoutMs }),
    );
    let bundle: Awaited<ReturnType<typeof openFeedBundle>>;
    try {
      bundle = await openFeedBundle(file);
    } catch (error) {
      throw new Error(`${url} is not a readable zip (${error instanceof Error ? error.message : error})`);
    }
    let newest: Date | null = null;
    let records = 0;
    try {
      for await (const entry of bundle.files) {
        if (!entry.name.endsWith(".json")) continue;
        const result = parseRecordText(decodeFeedText(await entry.read()), entry.name);
        writer.skip(result.skipped);
        await writer.advisories(result.records);
        records += result.records.length;
        for (const r of result.records) {
          const modified = timeOf(r.modifiedAt);
          if (modified !== null && (newest === null || modified > newest)) newest = modified;
        }
      }
      writer.skip(bundle.refused.map((r) => ({ record: r.name, reason: r.reason })));
    } finally {
      await bundle.close();
    }
    ctx.log(`${feed}: ${records} records from all.zip (${downloaded.bytes} bytes)`);
    const cursor =
      newest === null
        ? null
        : JSON.stringify({ modified: newest.toISOString(), etag: null, lastModified: null });
    return { summary: await writer.finish(cursor, { mode: "full" }), changed: true };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
