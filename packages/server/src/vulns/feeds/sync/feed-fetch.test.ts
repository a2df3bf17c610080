import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FeedSources } from "../../../testing/feed-sources.js";
import { downloadFeed, FeedFetchError, fetchFeed, RateLimiter } from "./feed-fetch.js";

let sources: FeedSources;
let dir: string;
beforeAll(async () => {
  sources = await FeedSources.start();
  dir = await mkdtemp(join(tmpdir(), "pp-feed-fetch-"));
});
afterAll(async () => {
  await sources.close();
  await rm(dir, { recursive: true, force: true });
});

const quick = { backoffMs: 5, attempts: 3 };

describe("fetching a feed", () => {
  it("is conditional: the held ETag is sent and a 304 gives no body", async () => {
    sources.serve("/doc", { body: "v1", etag: '"e1"' });
    const first = await fetchFeed(sources.url("/doc"), quick);
    expect(first).toMatchObject({ status: 200, etag: '"e1"' });
    expect(first.body?.toString()).toBe("v1");
    const second = await fetchFeed(sources.url("/doc"), { ...quick, etag: '"e1"' });
    expect(second).toEqual({ status: 304, body: null, etag: '"e1"', lastModified: null });
    expect(sources.requestsFor("/doc")[1]?.headers["if-none-match"]).toBe('"e1"');
  });

  it("undoes gzip, whether the transfer or the file itself is compressed", async () => {
    sources.serve("/encoded", { body: "a,b,c\n", gzip: true });
    sources.serve("/file.csv.gz", {
      body: gzipSync("x,y\n"),
      headers: { "content-type": "application/gzip" },
    });
    expect((await fetchFeed(sources.url("/encoded"), quick)).body?.toString()).toBe("a,b,c\n");
    expect((await fetchFeed(sources.url("/file.csv.gz"), quick)).body?.toString()).toBe("x,y\n");
  });

  it("refuses a gzip file that unpacks past the limit, without trying again", async () => {
    sources.serve("/bomb.gz", { body: gzipSync(Buffer.alloc(1_000_000)) });
    await expect(fetchFeed(sources.url("/bomb.gz"), { ...quick, maxBytes: 100_000 })).rejects.toThrow(
      /unpacks to more than 100000 bytes/,
    );
    expect(sources.requestsFor("/bomb.gz")).toHaveLength(1);
  });

  it("refuses a body larger than the limit", async () => {
    sources.serve("/big", { body: Buffer.alloc(5000) });
    await expect(fetchFeed(sources.url("/big"), { ...quick, maxBytes: 1000 })).rejects.toThrow(
      /5000 bytes, more than the 1000/,
    );
  });

  it("waits as long as Retry-After says on 429, then tries again", async () => {
    let calls = 0;
    sources.serve("/busy", () =>
      ++calls === 1 ? { status: 429, headers: { "retry-after": "0.2" } } : { body: "ok" },
    );
    const started = Date.now();
    expect((await fetchFeed(sources.url("/busy"), quick)).body?.toString()).toBe("ok");
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(calls).toBe(2);
  });

  it("gives up after the last attempt on 503, naming the URL and status", async () => {
    sources.serve("/down", { status: 503 });
    const error = await fetchFeed(sources.url("/down"), quick).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FeedFetchError);
    expect((error as FeedFetchError).status).toBe(503);
    expect((error as Error).message).toContain(`${sources.url("/down")} answered 503`);
    expect(sources.requestsFor("/down")).toHaveLength(3);
  });

  it("does not retry a plain server error", async () => {
    sources.serve("/broken", { status: 500, body: "oops" });
    await expect(fetchFeed(sources.url("/broken"), quick)).rejects.toThrow(/answered 500/);
    expect(sources.requestsFor("/broken")).toHaveLength(1);
  });

  it("retries a transfer that breaks off, and says so when it keeps breaking", async () => {
    sources.serve("/cut", { body: "x".repeat(10_000), truncate: true });
    await expect(fetchFeed(sources.url("/cut"), quick)).rejects.toThrow(
      /\/cut could not be fetched after 3 attempts: the connection closed before the whole body arrived/,
    );
    expect(sources.requestsFor("/cut")).toHaveLength(3);
  });

  it("downloads into a file, and leaves none behind when the transfer breaks", async () => {
    const file = join(dir, "all.zip");
    sources.serve("/all.zip", { body: Buffer.alloc(70_000, 7), etag: '"z"' });
    const downloaded = await downloadFeed(sources.url("/all.zip"), file, quick);
    expect(downloaded).toMatchObject({ status: 200, bytes: 70_000, etag: '"z"' });
    expect((await readFile(file)).equals(Buffer.alloc(70_000, 7))).toBe(true);

    const cut = join(dir, "cut.zip");
    sources.serve("/cut.zip", { body: Buffer.alloc(70_000, 7), truncate: true });
    await expect(downloadFeed(sources.url("/cut.zip"), cut, quick)).rejects.toThrow(
      /closed before the whole body/,
    );
    await expect(stat(cut)).rejects.toThrow(/ENOENT/);
  });
});

describe("the rate limiter", () => {
  it("lets `requests` through at once, then holds the next until the oldest leaves the window", async () => {
    const limiter = new RateLimiter(300, 3);
    const started = Date.now();
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      await limiter.slot();
      times.push(Date.now() - started);
    }
    expect(times.slice(0, 3).every((t) => t < 100)).toBe(true);
    // Any three consecutive slots after the first burst are a whole window after the three before.
    for (let i = 3; i < times.length; i++)
      expect((times[i] ?? 0) - (times[i - 3] ?? 0)).toBeGreaterThanOrEqual(295);
  });

  it("spaces single requests evenly when built with an interval alone", async () => {
    const limiter = new RateLimiter(100);
    const started = Date.now();
    for (let i = 0; i < 4; i++) await limiter.slot();
    expect(Date.now() - started).toBeGreaterThanOrEqual(295);
  });
});
