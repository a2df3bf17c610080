/**
 * The Debian security tracker's JSON: one document of every source package's CVEs (about 70 MB),
 * fetched only when its ETag or Last-Modified moved.
 */
import { parseDebianTracker } from "../parsers/debian-tracker.js";
import { decodeFeedText } from "../parsers/text.js";
import { type FeedRun, fetchIfChanged, readJsonCursor, validatorsOf } from "./feed-run.js";

const MAX_BYTES = 512 * 1024 * 1024;

export function debianFeed(): FeedRun {
  return {
    source: "debian",
    feed: "debian-tracker",
    async run(ctx) {
      const url = ctx.settings.feedUrls.debian;
      const { body, validators } = await fetchIfChanged(ctx, url, validatorsOf(readJsonCursor(ctx.cursor)), {
        headers: { accept: "application/json" },
        maxBytes: MAX_BYTES,
      });
      const writer = ctx.writer();
      if (body === null) {
        ctx.log("debian-tracker: not modified since the last sync");
        return { summary: await writer.finish(ctx.cursor, { notModified: true }), changed: false };
      }
      const result = parseDebianTracker(decodeFeedText(body));
      writer.skip(result.skipped);
      await writer.advisories(result.records);
      ctx.log(`debian-tracker: ${result.records.length} advisories, ${result.skipped.length} skipped`);
      return { summary: await writer.finish(JSON.stringify(validators)), changed: true };
    },
  };
}
