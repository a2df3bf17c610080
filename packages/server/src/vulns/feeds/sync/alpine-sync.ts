/**
 * Alpine secdb: one JSON file per release and repository (`v3.20/main.json`). They are parsed
 * together, so a CVE fixed in several releases is one advisory; each file is fetched
 * conditionally, but when any of them changed the whole set is read and stored again (storing one
 * file alone would drop the other releases' ranges from the advisories it shares with them).
 */
import { parseAlpineSecdbFiles } from "../parsers/alpine-secdb.js";
import { decodeFeedText } from "../parsers/text.js";
import { fetchFeed } from "./feed-fetch.js";
import {
  type FeedRun,
  type FeedRunContext,
  readJsonCursor,
  type Validators,
  validatorsOf,
} from "./feed-run.js";

const REPOSITORIES = ["main", "community"] as const;
const MAX_BYTES = 128 * 1024 * 1024;

export function alpineFeed(): FeedRun {
  return { source: "alpine", feed: "alpine-secdb", run: syncAlpine };
}

async function syncAlpine(ctx: FeedRunContext) {
  const names = ctx.settings.alpineReleases.flatMap((release) =>
    REPOSITORIES.map((repo) => `${release}/${repo}.json`),
  );
  const previous = readJsonCursor(ctx.cursor);
  const held = typeof previous.files === "object" && previous.files !== null ? previous.files : {};
  const url = (name: string) => `${ctx.settings.feedUrls.alpine}${name}`;
  const options = ctx.fetchOptions({ headers: { accept: "application/json" }, maxBytes: MAX_BYTES });

  const bodies = new Map<string, Buffer | null>();
  const files: Record<string, Validators> = {};
  for (const name of names) {
    const before = validatorsOf(Object.hasOwn(held, name) ? Reflect.get(held, name) : null);
    const fetched = await fetchFeed(url(name), {
      ...options,
      etag: before.etag,
      lastModified: before.lastModified,
    });
    bodies.set(name, fetched.body);
    files[name] = { etag: fetched.etag, lastModified: fetched.lastModified };
  }
  const changed = names.filter((name) => bodies.get(name) !== null);
  const writer = ctx.writer();
  if (changed.length === 0) {
    ctx.log("alpine-secdb: no file modified since the last sync");
    return { summary: await writer.finish(ctx.cursor, { notModified: true }), changed: false };
  }
  // The unchanged files are needed too: the set is parsed as one.
  for (const name of names) {
    if (bodies.get(name) !== null) continue;
    const fetched = await fetchFeed(url(name), options);
    bodies.set(name, fetched.body);
    files[name] = { etag: fetched.etag, lastModified: fetched.lastModified };
  }
  const result = parseAlpineSecdbFiles(
    names.map((name) => decodeFeedText(bodies.get(name) ?? Buffer.alloc(0))),
  );
  writer.skip(result.skipped);
  await writer.advisories(result.records);
  ctx.log(
    `alpine-secdb: ${changed.join(", ")} changed; ${result.records.length} advisories from ${names.length} files`,
  );
  return {
    summary: await writer.finish(JSON.stringify({ files }), { files: names, changed }),
    changed: true,
  };
}
