import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { ServerOptions } from "node:https";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";

/**
 * The yardstick: a bare `node:http` server (and the same over TLS) that reads a JSON body, parses
 * it and answers a JSON body the size of a check-in answer — no framework, no authentication, no
 * validation, no state. What PatchPilot's check-in reaches as a share of this is the overhead of
 * everything the product does per request.
 */
export interface BareServer {
  origin: string;
  close(): Promise<void>;
}

const ANSWER = JSON.stringify({
  serverTime: new Date(0).toISOString(),
  nextCheckInSeconds: 60,
  inventory: "current",
  knownInventoryHash: "0".repeat(64),
  jobs: [],
  rotateToken: false,
});

function handle(request: IncomingMessage, response: ServerResponse): void {
  const chunks: Buffer[] = [];
  request.on("data", (c: Buffer) => chunks.push(c));
  request.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { inventoryHash?: string };
    const answer = ANSWER.replace("0".repeat(64), body.inventoryHash ?? "0".repeat(64));
    response.writeHead(200, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(answer),
    });
    response.end(answer);
  });
}

export async function startBareServer(tls: ServerOptions | null): Promise<BareServer> {
  const server = tls
    ? createHttpsServer({ ...tls, keepAliveTimeout: 60_000 }, handle)
    : createHttpServer({ keepAliveTimeout: 60_000 }, handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `${tls ? "https" : "http"}://localhost:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
