import { readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";

const TESTDATA = new URL("../vulns/feeds/parsers/testdata/", import.meta.url);

/** A file of the parsers' test data (real feed files, see testdata/SOURCES.md). */
export function testdataFile(path: string): Buffer {
  return readFileSync(new URL(path, TESTDATA));
}

/** What a feed source answers to one request. */
export interface Answer {
  status?: number;
  /** The reason phrase after the status code. */
  statusText?: string;
  body?: Buffer | string;
  headers?: Record<string, string>;
  /** Sent with the body; a request whose If-None-Match matches it is answered 304. */
  etag?: string;
  /** Content-Encoding: gzip, as a web server compressing on the fly does. */
  gzip?: boolean;
  /** Declares the whole length, sends half the body, then drops the connection. */
  truncate?: boolean;
}

export interface SourceRequest {
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Date.now() when it arrived. */
  at: number;
  /** The status it was answered with. */
  status: number;
}

type Route = Answer | ((request: SourceRequest) => Answer);

/**
 * A stand-in for the feed sources on 127.0.0.1: each path answers what a test put there, with
 * conditional GETs, gzip and broken transfers, and every request is kept for the test to inspect.
 */
export class FeedSources {
  readonly requests: SourceRequest[] = [];
  readonly #routes = new Map<string, Route>();
  readonly #server: Server;
  #origin = "";

  private constructor() {
    this.#server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://localhost");
      const request: SourceRequest = {
        path: decodeURIComponent(url.pathname),
        query: url.searchParams,
        headers: req.headers,
        at: Date.now(),
        status: 0,
      };
      this.requests.push(request);
      const route = this.#routes.get(request.path);
      const answer: Answer =
        route === undefined
          ? { status: 404, body: "not here" }
          : typeof route === "function"
            ? route(request)
            : route;
      if (answer.etag !== undefined && req.headers["if-none-match"] === answer.etag) {
        request.status = 304;
        res.writeHead(304, { etag: answer.etag }).end();
        return;
      }
      const raw =
        typeof answer.body === "string" ? Buffer.from(answer.body) : (answer.body ?? Buffer.alloc(0));
      const body = answer.gzip ? gzipSync(raw) : raw;
      request.status = answer.status ?? 200;
      const headers: Record<string, string> = {
        "content-length": String(body.length),
        ...(answer.etag === undefined ? {} : { etag: answer.etag }),
        ...(answer.gzip ? { "content-encoding": "gzip" } : {}),
        ...answer.headers,
      };
      if (answer.statusText === undefined) res.writeHead(request.status, headers);
      else res.writeHead(request.status, answer.statusText, headers);
      if (answer.truncate) res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
      else res.end(body);
    });
  }

  static async start(): Promise<FeedSources> {
    const sources = new FeedSources();
    await new Promise<void>((resolve) => sources.#server.listen(0, "127.0.0.1", resolve));
    sources.#origin = `http://127.0.0.1:${(sources.#server.address() as AddressInfo).port}`;
    return sources;
  }

  url(path: string): string {
    return `${this.#origin}${path}`;
  }

  /** What `path` answers from now on. */
  serve(path: string, route: Route): void {
    this.#routes.set(path, route);
  }

  /** The requests for one path, oldest first. */
  requestsFor(path: string): SourceRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
