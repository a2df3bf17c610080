/**
 * NVD CVE API 2.0. The first run pages through every CVE; later runs ask only for the CVEs
 * modified since the cursor, in windows of at most 120 days (NVD's limit). The cursor is the end
 * of the last window finished, so a run that fails part-way keeps what it stored and starts the
 * next run at the first window it did not finish.
 *
 * NVD allows 5 requests in a rolling 30 seconds, 50 with an API key; the key travels in the
 * `apiKey` header, never in the URL, so it appears in no message or log.
 */
import type { KnowledgeBaseWriter } from "../../knowledge-base/knowledge-base-writer.js";
import { FeedFormatError } from "../parsers/errors.js";
import { parseNvdPage } from "../parsers/nvd.js";
import { decodeFeedText } from "../parsers/text.js";
import { type FetchOptions, fetchFeed, RateLimiter } from "./feed-fetch.js";
import { type FeedRun, type FeedRunContext, timeOf } from "./feed-run.js";

const PAGE_SIZE = 2000;
const WINDOW_MS = 120 * 24 * 3600 * 1000;
/** A page of 2000 CVEs is a few tens of megabytes. */
const MAX_PAGE_BYTES = 256 * 1024 * 1024;
/** More pages than NVD holds CVEs in any window: a source that never ends its paging is refused. */
const MAX_PAGES = 1000;
/** 403 is how NVD says "slow down" (as well as 429 and 503). */
const RETRY_ON = [403, 429, 502, 503, 504];

/** NVD's extended ISO-8601, with the offset spelled out (`2024-04-01T00:00:00.000+00:00`). */
function nvdTime(time: Date): string {
  return `${time.toISOString().slice(0, 23)}+00:00`;
}

export function nvdFeed(): FeedRun {
  return { source: "nvd", feed: "nvd", run: syncNvd };
}

async function syncNvd(ctx: FeedRunContext) {
  const key = ctx.settings.nvdApiKey?.reveal() ?? null;
  const options = ctx.fetchOptions({
    headers: { accept: "application/json", ...(key === null ? {} : { apiKey: key }) },
    retryOn: RETRY_ON,
    limiter: new RateLimiter(ctx.tuning.nvdWindowMs, key === null ? 5 : 50),
    maxBytes: MAX_PAGE_BYTES,
  });
  const startedAt = ctx.tuning.now();
  const from = timeOf(ctx.cursor);
  const writer = ctx.writer();
  if (from === null) {
    ctx.log("nvd: first sync, paging through every CVE");
    const received = await pageThrough(ctx, writer, new URLSearchParams(), options);
    return {
      summary: await writer.finish(startedAt.toISOString(), { mode: "full", received }),
      changed: true,
    };
  }
  let done = from;
  let received = 0;
  let windows = 0;
  try {
    while (done < startedAt) {
      const end = new Date(Math.min(done.getTime() + WINDOW_MS, startedAt.getTime()));
      const window = new URLSearchParams({ lastModStartDate: nvdTime(done), lastModEndDate: nvdTime(end) });
      ctx.log(`nvd: CVEs modified from ${done.toISOString()} to ${end.toISOString()}`);
      received += await pageThrough(ctx, writer, window, options);
      done = end;
      windows++;
    }
  } catch (error) {
    // The windows already finished are kept, and the next run starts after them.
    if (done > from)
      await writer.finish(done.toISOString(), { mode: "incremental", windows, received, interrupted: true });
    throw error;
  }
  return {
    summary: await writer.finish(done.toISOString(), { mode: "incremental", windows, received }),
    changed: received > 0,
  };
}

/** Every page of one query; returns how many CVEs NVD sent. */
async function pageThrough(
  ctx: FeedRunContext,
  writer: KnowledgeBaseWriter,
  query: URLSearchParams,
  options: FetchOptions,
): Promise<number> {
  let startIndex = 0;
  let received = 0;
  for (let pages = 1; ; pages++) {
    if (pages > MAX_PAGES)
      throw new FeedFormatError("NVD CVE API 2.0 page", `paging did not end after ${MAX_PAGES} pages`);
    const params = new URLSearchParams(query);
    params.set("resultsPerPage", String(PAGE_SIZE));
    params.set("startIndex", String(startIndex));
    const url = `${ctx.settings.feedUrls.nvd}?${params}`;
    const fetched = await fetchFeed(url, options);
    const page = parseNvdPage(decodeFeedText(fetched.body ?? Buffer.alloc(0)));
    writer.skip(page.skipped);
    await writer.advisories(page.records);
    received += page.resultsPerPage;
    startIndex += page.resultsPerPage;
    if (startIndex >= page.totalResults) return received;
    if (page.resultsPerPage === 0) {
      throw new FeedFormatError(
        "NVD CVE API 2.0 page",
        `an empty page at index ${startIndex} of ${page.totalResults}`,
      );
    }
    ctx.log(`nvd: ${startIndex} of ${page.totalResults}`);
  }
}
