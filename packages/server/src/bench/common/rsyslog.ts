import { type ChildProcess, spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import path from "node:path";

/** A free loopback TCP port (closed again before rsyslog binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** PEM files for rsyslog's TLS listener (GnuTLS stream driver, RFC 5425). */
export interface RsyslogTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/**
 * A real rsyslogd on loopback with its own config, pid file and work directory: imtcp (octet
 * counting) in, plain or over TLS with the gtls stream driver, rsyslog's own RFC 5424 parser
 * and mmpstrucdata for the structured data, and one JSON line per message out.
 */
export class RsyslogPeer {
  #process: ChildProcess | null = null;
  readonly output: string;

  constructor(
    readonly dir: string,
    readonly port: number,
    /** Listen with TLS, presenting this certificate; the files may be swapped between restarts. */
    readonly tls: RsyslogTlsFiles | null = null,
  ) {
    this.output = path.join(dir, "out.json");
  }

  async start(): Promise<void> {
    const conf = path.join(this.dir, "rsyslog.conf");
    await writeFile(
      conf,
      `global(workDirectory="${this.dir}" maxMessageSize="64k"${
        this.tls
          ? ` defaultNetstreamDriver="gtls" defaultNetstreamDriverCAFile="${this.tls.caFile}"` +
            ` defaultNetstreamDriverCertFile="${this.tls.certFile}" defaultNetstreamDriverKeyFile="${this.tls.keyFile}"`
          : ""
      })
module(load="imtcp"${this.tls ? ' streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon"' : ""})
module(load="mmpstrucdata")
template(name="pp" type="list" option.jsonf="on") {
  property(outname="pri" name="pri" format="jsonf")
  property(outname="version" name="protocol-version" format="jsonf")
  property(outname="timestamp" name="timereported" dateFormat="rfc3339" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="sd" name="structured-data" format="jsonf")
  property(outname="parsed" name="$!rfc5424-sd" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
}
input(type="imtcp" port="${this.port}" address="127.0.0.1")
action(type="mmpstrucdata")
action(type="omfile" file="${this.output}" template="pp")
`,
    );
    const child = spawn("/usr/sbin/rsyslogd", ["-n", "-f", conf, "-i", path.join(this.dir, "rsyslog.pid")], {
      stdio: "ignore",
    });
    this.#process = child;
    // Ready when the port accepts connections.
    for (let i = 0; i < 100; i++) {
      const open = await new Promise<boolean>((resolve) => {
        const socket = connect({ host: "127.0.0.1", port: this.port });
        socket.on("connect", () => {
          socket.destroy();
          resolve(true);
        });
        socket.on("error", () => resolve(false));
      });
      if (open) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("rsyslogd did not start listening");
  }

  async stop(): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
    this.#process = null;
  }

  /** Every message rsyslog has written so far, parsed. */
  async received(): Promise<Record<string, unknown>[]> {
    const text = await readFile(this.output, "utf8").catch(() => "");
    return text
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
