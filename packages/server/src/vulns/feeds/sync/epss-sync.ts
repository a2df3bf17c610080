/**
 * FIRST EPSS: one gzip CSV of every CVE's score, published daily. Fetched conditionally, and not
 * stored again when its score date is the one already held (the file is replaced in place, so a
 * new ETag does not always mean new scores).
 */
import { parseEpssCsv } from "../parsers/epss.js";
import { decodeFeedText } from "../parsers/text.js";
import { type FeedRun, fetchIfChanged, readJsonCursor, validatorsOf } from "./feed-run.js";

/** Unpacked, the file is about 10 MB. */
const MAX_BYTES = 256 * 1024 * 1024;

/** The score date from the first line (`#model_version:…,score_date:2025-02-20T00:00:00+0000`). */
function scoreDateOf(text: string): string | null {
  const end = text.indexOf("\n");
  const first = end < 0 ? text : text.slice(0, end);
  return /score_date:(\d{4}-\d{2}-\d{2})/.exec(first)?.[1] ?? null;
}

export function epssFeed(): FeedRun {
  return {
    source: "epss",
    feed: "epss",
    async run(ctx) {
      const previous = readJsonCursor(ctx.cursor);
      const { body, validators } = await fetchIfChanged(
        ctx,
        ctx.settings.feedUrls.epss,
        validatorsOf(previous),
        {
          maxBytes: MAX_BYTES,
        },
      );
      const writer = ctx.writer();
      if (body === null) {
        ctx.log("epss: not modified since the last sync");
        return { summary: await writer.finish(ctx.cursor, { notModified: true }), changed: false };
      }
      const text = decodeFeedText(body);
      const date = scoreDateOf(text);
      if (date !== null && date === previous.date) {
        ctx.log(`epss: scores of ${date} already stored`);
        return {
          summary: await writer.finish(JSON.stringify({ ...validators, date }), { scoreDate: date }),
          changed: false,
        };
      }
      const result = parseEpssCsv(text);
      writer.skip(result.skipped);
      await writer.epss(result.records);
      ctx.log(`epss: ${result.records.length} scores of ${date}, ${result.skipped.length} skipped`);
      return {
        summary: await writer.finish(JSON.stringify({ ...validators, date }), { scoreDate: date }),
        changed: true,
      };
    },
  };
}
