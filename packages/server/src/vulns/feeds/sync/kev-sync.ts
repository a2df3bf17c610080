/**
 * CISA's Known Exploited Vulnerabilities catalogue: one JSON file, fetched only when its ETag or
 * Last-Modified moved. The file is the whole catalogue, so storing it also clears the mark from
 * CVEs that left it.
 */
import { FeedFormatError } from "../parsers/errors.js";
import { parseKevJson } from "../parsers/kev.js";
import { decodeFeedText } from "../parsers/text.js";
import { type FeedRun, fetchIfChanged, readJsonCursor, validatorsOf } from "./feed-run.js";

/** The catalogue is about 1.5 MB; a hundred times that is not the catalogue. */
const MAX_BYTES = 128 * 1024 * 1024;

export function kevFeed(): FeedRun {
  return {
    source: "kev",
    feed: "kev",
    async run(ctx) {
      const url = ctx.settings.feedUrls.kev;
      const { body, validators } = await fetchIfChanged(ctx, url, validatorsOf(readJsonCursor(ctx.cursor)), {
        headers: { accept: "application/json" },
        maxBytes: MAX_BYTES,
      });
      const writer = ctx.writer();
      if (body === null) {
        ctx.log(`kev: not modified since the last sync`);
        return { summary: await writer.finish(ctx.cursor, { notModified: true }), changed: false };
      }
      const result = parseKevJson(decodeFeedText(body));
      // An empty list would clear every KEV mark: a catalogue that lost all its entries is broken.
      if (result.records.length === 0) {
        throw new FeedFormatError(
          "CISA KEV JSON catalogue",
          "it lists no usable vulnerability, so it was not applied",
        );
      }
      writer.skip(result.skipped);
      await writer.kev(result.records);
      ctx.log(`kev: ${result.records.length} catalogue entries, ${result.skipped.length} skipped`);
      return {
        summary: await writer.finish(JSON.stringify(validators), { entries: result.records.length }),
        changed: true,
      };
    },
  };
}
