import type { FastifyReply, FastifyRequest } from "fastify";

const POLL_MS = 1000;
const HEARTBEAT_MS = 15_000;
/** A stream ends after this long; EventSource reconnects, and the session is checked again. */
const MAX_STREAM_MS = 10 * 60_000;

/**
 * Streams a resource as server-sent events: its state now, then each time it changes (polled once
 * a second — the same on every process and database), with a comment line as heartbeat. Ends when
 * `done` says the state is final, when the client goes away, or after ten minutes; a client that
 * did not accept text/event-stream gets the first event only.
 */
export async function streamChanges<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  event: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
): Promise<void> {
  let value = await read();
  let last = JSON.stringify(value);
  reply.hijack();
  const raw = reply.raw;
  const headers: Record<string, string> = {};
  for (const [name, header] of Object.entries(reply.getHeaders())) {
    if (typeof header === "string") headers[name] = header;
  }
  raw.writeHead(200, {
    ...headers,
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    "x-accel-buffering": "no",
  });
  raw.write(`retry: 2000\nevent: ${event}\ndata: ${last}\n\n`);
  // A client that did not ask for a stream (no Accept: text/event-stream) gets the one event.
  let open = (request.headers.accept ?? "").includes("text/event-stream");
  request.raw.once("close", () => {
    open = false;
  });
  const started = Date.now();
  let lastWrite = Date.now();
  while (open && !done(value) && Date.now() - started < MAX_STREAM_MS) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (!open) break;
    value = await read();
    const text = JSON.stringify(value);
    if (text !== last) {
      last = text;
      raw.write(`event: ${event}\ndata: ${text}\n\n`);
      lastWrite = Date.now();
    } else if (Date.now() - lastWrite >= HEARTBEAT_MS) {
      raw.write(": still here\n\n");
      lastWrite = Date.now();
    }
  }
  raw.end();
}
