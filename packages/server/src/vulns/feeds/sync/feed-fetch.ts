import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { gunzipSync } from "node:zlib";

export class FeedFetchError extends Error {
  override name = "FeedFetchError";
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

export interface FetchOptions {
  headers?: Record<string, string>;
  /** ETag or Last-Modified of the copy already held: an unchanged source answers 304. */
  etag?: string | null;
  lastModified?: string | null;
  /** The largest body accepted (a feed that grows past it is a misconfiguration or an attack). */
  maxBytes?: number;
  timeoutMs?: number;
  /** Attempts for answers that say "try later" and for network errors. */
  attempts?: number;
  /** Statuses that mean "try later" (default 429, 502, 503, 504; NVD adds 403, its rate-limit answer). */
  retryOn?: readonly number[];
  /** The first wait before another attempt when the source does not say (Retry-After); doubled each time. */
  backoffMs?: number;
  /** The longest wait between attempts, whatever Retry-After asks. */
  maxWaitMs?: number;
  /** Every attempt, retries included, takes a slot of the source's rate limit. */
  limiter?: RateLimiter;
}

export interface Fetched {
  status: number;
  /** Null on 304 Not Modified. */
  body: Buffer | null;
  etag: string | null;
  lastModified: string | null;
}

export interface Downloaded {
  status: number;
  /** Bytes written; 0 on 304 Not Modified (nothing is written then). */
  bytes: number;
  etag: string | null;
  lastModified: string | null;
}

const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;
const DEFAULT_RETRY_ON: readonly number[] = [429, 502, 503, 504];

/**
 * One HTTP GET of a feed: conditional (ETag / Last-Modified), bounded in size and time, gzip
 * undone, and retried with backoff when the source asks for patience (429 or 503, honouring
 * Retry-After) or the network fails. Any other non-2xx is an error naming the URL and status.
 */
export async function fetchFeed(url: string, options: FetchOptions = {}): Promise<Fetched> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  return withAttempts<Fetched>(
    url,
    options,
    async (response) => {
      const body = await readBounded(response, maxBytes, url);
      return {
        status: response.status,
        body: isGzip(body) ? gunzipBounded(body, maxBytes, url, response.status) : body,
        etag: response.headers.get("etag"),
        lastModified: response.headers.get("last-modified"),
      };
    },
    () => ({
      status: 304,
      body: null,
      etag: options.etag ?? null,
      lastModified: options.lastModified ?? null,
    }),
  );
}

/**
 * The same GET, streamed into a file instead of memory (OSV's all.zip runs to hundreds of
 * megabytes). The body is written as sent, without undoing gzip; a failed attempt leaves no file.
 */
export async function downloadFeed(
  url: string,
  file: string,
  options: FetchOptions = {},
): Promise<Downloaded> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  return withAttempts<Downloaded>(
    url,
    options,
    async (response) => {
      try {
        const bytes = await writeBounded(response, file, maxBytes, url);
        return {
          status: response.status,
          bytes,
          etag: response.headers.get("etag"),
          lastModified: response.headers.get("last-modified"),
        };
      } catch (error) {
        await rm(file, { force: true });
        throw error;
      }
    },
    () => ({ status: 304, bytes: 0, etag: options.etag ?? null, lastModified: options.lastModified ?? null }),
  );
}

async function withAttempts<T>(
  url: string,
  options: FetchOptions,
  onBody: (response: Response) => Promise<T>,
  onNotModified: () => T,
): Promise<T> {
  const attempts = Math.max(1, options.attempts ?? 4);
  const retryOn = options.retryOn ?? DEFAULT_RETRY_ON;
  const backoff = (attempt: number) => (options.backoffMs ?? 2000) * 2 ** (attempt - 1);
  const maxWait = options.maxWaitMs ?? 120_000;
  let lastError: unknown = null;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    await options.limiter?.slot();
    try {
      const headers: Record<string, string> = {
        "user-agent": "PatchPilot feed sync (+https://patchpilot.dev)",
        "accept-encoding": "gzip",
        ...options.headers,
      };
      if (options.etag) headers["if-none-match"] = options.etag;
      if (options.lastModified) headers["if-modified-since"] = options.lastModified;
      const response = await fetch(url, {
        headers,
        signal: AbortSignal.timeout(options.timeoutMs ?? 120_000),
      });
      if (response.status === 304) {
        await response.body?.cancel();
        return onNotModified();
      }
      if (retryOn.includes(response.status)) {
        await response.body?.cancel();
        const wait = retryAfterMs(response.headers.get("retry-after")) ?? backoff(attempt);
        lastError = new FeedFetchError(
          `${url} answered ${response.status} after ${attempt} attempts`,
          response.status,
        );
        if (attempt < attempts) await sleep(Math.min(wait, maxWait));
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new FeedFetchError(
          `${url} answered ${response.status} ${response.statusText}`.trim(),
          response.status,
        );
      }
      return await onBody(response);
    } catch (error) {
      if (error instanceof FeedFetchError && error.status !== null) throw error;
      lastError = error;
      if (attempt < attempts) await sleep(Math.min(backoff(attempt), maxWait));
    }
  }
  if (lastError instanceof FeedFetchError) throw lastError;
  throw new FeedFetchError(
    `${url} could not be fetched after ${attempts} attempts: ${describeNetworkError(lastError)}`,
    null,
  );
}

/** undici reports "fetch failed" and keeps the reason (refused, reset, timed out) in `cause`. */
function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  if (error.name === "TimeoutError") return "timed out";
  if (error.message === "terminated") return `the connection closed before the whole body arrived${cause}`;
  return `${error.message}${cause}`;
}

function retryAfterMs(header: string | null): number | null {
  if (header === null) return null;
  const seconds = Number(header);
  if (header.trim() !== "" && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

function isGzip(body: Buffer): boolean {
  return body.length > 2 && body[0] === 0x1f && body[1] === 0x8b;
}

/** A broken gzip stream is the source's fault, not the network's: refused at once, not retried. */
function gunzipBounded(body: Buffer, maxBytes: number, url: string, status: number): Buffer {
  try {
    return gunzipSync(body, { maxOutputLength: maxBytes });
  } catch (error) {
    const reason =
      error instanceof RangeError ? `unpacks to more than ${maxBytes} bytes` : "is not a whole gzip stream";
    throw new FeedFetchError(`${url} ${reason}`, status);
  }
}

function refuseDeclaredSize(response: Response, maxBytes: number, url: string): void {
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new FeedFetchError(
      `${url} is ${declared} bytes, more than the ${maxBytes} accepted`,
      response.status,
    );
  }
}

async function readBounded(response: Response, maxBytes: number, url: string): Promise<Buffer> {
  try {
    refuseDeclaredSize(response, maxBytes, url);
  } catch (error) {
    await response.body?.cancel();
    throw error;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (!response.body) return Buffer.alloc(0);
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > maxBytes)
      throw new FeedFetchError(`${url} is larger than the ${maxBytes} bytes accepted`, response.status);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

async function writeBounded(
  response: Response,
  file: string,
  maxBytes: number,
  url: string,
): Promise<number> {
  try {
    refuseDeclaredSize(response, maxBytes, url);
  } catch (error) {
    await response.body?.cancel();
    throw error;
  }
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > maxBytes)
        done(new FeedFetchError(`${url} is larger than the ${maxBytes} bytes accepted`, response.status));
      else done(null, chunk);
    },
  });
  const body = response.body ? Readable.fromWeb(response.body) : Readable.from([]);
  await pipeline(body, counter, createWriteStream(file, { mode: 0o600 }));
  return size;
}

/**
 * Spaces requests to a source that limits them: at most `requests` in any rolling `windowMs`
 * (NVD: 5 per 30 s without an API key, 50 with one). `new RateLimiter(ms)` allows one request
 * per `ms`. Every request waits for its slot; slots are shared by everything using the limiter.
 */
export class RateLimiter {
  /** Start times of the most recent slots handed out, oldest first. */
  readonly #recent: number[] = [];

  constructor(
    private readonly windowMs: number,
    private readonly requests = 1,
  ) {}

  async slot(): Promise<void> {
    const now = Date.now();
    const oldest =
      this.#recent.length >= this.requests ? (this.#recent[this.#recent.length - this.requests] ?? 0) : 0;
    const at = Math.max(now, oldest + this.windowMs);
    this.#recent.push(at);
    if (this.#recent.length > this.requests) this.#recent.splice(0, this.#recent.length - this.requests);
    if (at > now) await sleep(at - now);
  }
}
