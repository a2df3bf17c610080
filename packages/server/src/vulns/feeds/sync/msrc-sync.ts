/**
 * Microsoft's Security Update Guide: the CVRF API lists its monthly documents (`updates`), each
 * with the time it last changed; a run fetches, oldest first, those that changed since the
 * cursor. Documents are fetched by id from the configured base, never from a URL in the list.
 */

import { parseCvrfDocument } from "../parsers/cvrf.js";
import { FeedFormatError } from "../parsers/errors.js";
import { isObject } from "../parsers/json.js";
import { decodeFeedText } from "../parsers/text.js";
import { fetchFeed } from "./feed-fetch.js";
import { type FeedRun, type FeedRunContext, timeOf } from "./feed-run.js";

const MAX_LIST_BYTES = 32 * 1024 * 1024;
const MAX_DOCUMENT_BYTES = 256 * 1024 * 1024;
/** MSRC names documents by month (`2024-Jan`); anything else is not fetched. */
const DOCUMENT_ID = /^[A-Za-z0-9-]{1,40}$/;
const LIST_FORMAT = "MSRC CVRF updates list";

interface Update {
  id: string;
  released: Date;
}

export function msrcFeed(): FeedRun {
  return { source: "msrc", feed: "msrc", run: syncMsrc };
}

function readUpdates(text: string): Update[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new FeedFormatError(
      LIST_FORMAT,
      `the text is not JSON (${error instanceof Error ? error.message : error})`,
    );
  }
  if (!isObject(parsed) || !Array.isArray(parsed.value))
    throw new FeedFormatError(LIST_FORMAT, "expected { value: [...] }");
  return parsed.value.flatMap((item: unknown) => {
    if (!isObject(item) || typeof item.ID !== "string" || !DOCUMENT_ID.test(item.ID)) return [];
    const released = timeOf(item.CurrentReleaseDate);
    return released === null ? [] : [{ id: item.ID, released }];
  });
}

async function syncMsrc(ctx: FeedRunContext) {
  const base = ctx.settings.feedUrls.msrc;
  const list = await fetchFeed(
    `${base}updates`,
    ctx.fetchOptions({ headers: { accept: "application/json" }, maxBytes: MAX_LIST_BYTES }),
  );
  const since = timeOf(ctx.cursor);
  const due = readUpdates(decodeFeedText(list.body ?? Buffer.alloc(0)))
    .filter((u) => since === null || u.released > since)
    .sort((a, b) => a.released.getTime() - b.released.getTime() || a.id.localeCompare(b.id));
  const writer = ctx.writer();
  if (due.length === 0) {
    ctx.log("msrc: no document released or revised since the last sync");
    return { summary: await writer.finish(ctx.cursor, { documents: 0 }), changed: false };
  }
  let done = since;
  try {
    for (const [i, update] of due.entries()) {
      ctx.log(`msrc: ${update.id} (${i + 1} of ${due.length})`);
      const fetched = await fetchFeed(
        `${base}cvrf/${encodeURIComponent(update.id)}`,
        ctx.fetchOptions({ headers: { accept: "application/xml" }, maxBytes: MAX_DOCUMENT_BYTES }),
      );
      const result = parseCvrfDocument(decodeFeedText(fetched.body ?? Buffer.alloc(0)));
      writer.skip(result.skipped);
      await writer.advisories(result.records);
      // A time is finished only once every document released at it is: ties wait for the last one.
      const next = due[i + 1];
      if (next === undefined || next.released > update.released) done = update.released;
    }
  } catch (error) {
    if (done !== null && (since === null || done > since)) {
      await writer.finish(done.toISOString(), { documents: due.length, interrupted: true });
    }
    throw error;
  }
  return {
    summary: await writer.finish(done?.toISOString() ?? null, { documents: due.map((u) => u.id) }),
    changed: true,
  };
}
