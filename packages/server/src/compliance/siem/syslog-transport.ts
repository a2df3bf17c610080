import { createSocket } from "node:dgram";
import { connect as connectTcp, isIP, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import { octetCounted } from "./syslog-format.js";

export interface SyslogDestination {
  host: string;
  port: number;
  transport: "udp" | "tcp" | "tls";
  caPem: string | null;
}

const TIMEOUT_MS = 15_000;

/**
 * Sends a batch of messages and resolves once the receiver has taken all of them. Syslog has no
 * acknowledgements, so over TCP and TLS each batch is one connection: we send, half-close, and
 * count the batch delivered only when the receiver closes its side cleanly after reading to our
 * end of stream. A receiver that dies mid-batch shows as an error, and the batch is sent again.
 * UDP is fire-and-forget, as the protocol is.
 */
export async function sendBatch(dest: SyslogDestination, messages: string[]): Promise<void> {
  if (messages.length === 0) return;
  if (dest.transport === "udp") return sendUdp(dest, messages);
  const payload = Buffer.concat(messages.map(octetCounted));
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    const onConnect = () => {
      socket.write(payload);
      socket.end();
    };
    const socket: Socket =
      dest.transport === "tls"
        ? connectTls(
            {
              host: dest.host,
              port: dest.port,
              // SNI carries host names only (RFC 6066); an address is checked against the
              // certificate's IP entries all the same.
              ...(isIP(dest.host) ? {} : { servername: dest.host }),
              minVersion: "TLSv1.2",
              ...(dest.caPem ? { ca: dest.caPem } : {}),
            },
            onConnect,
          )
        : connectTcp({ host: dest.host, port: dest.port }, onConnect);
    const timer = setTimeout(
      () => finish(new Error(`no answer from ${dest.host}:${dest.port} in time`)),
      TIMEOUT_MS,
    );
    socket.on("error", (error) => finish(error));
    socket.on("data", () => {});
    // The receiver closed its side after reading our whole stream.
    socket.on("end", () => finish());
    socket.on("close", (hadError) =>
      finish(hadError ? new Error("the connection closed with an error") : undefined),
    );
  });
}

async function sendUdp(dest: SyslogDestination, messages: string[]): Promise<void> {
  const socket = createSocket(dest.host.includes(":") ? "udp6" : "udp4");
  try {
    for (const m of messages) {
      await new Promise<void>((resolve, reject) =>
        socket.send(Buffer.from(m, "utf8"), dest.port, dest.host, (error) =>
          error ? reject(error) : resolve(),
        ),
      );
    }
  } finally {
    socket.close();
  }
}
