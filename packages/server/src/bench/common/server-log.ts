import { Writable } from "node:stream";

/** A server's log, counted rather than printed: a flood of warnings must not slow the run. */
export class ServerLog extends Writable {
  lines = 0;
  /** The first few lines, to quote in the report. */
  readonly first: string[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (line.trim() === "") continue;
      this.lines++;
      if (this.first.length < 5) this.first.push(line.slice(0, 400));
    }
    done();
  }
}
