import { createInterface } from "node:readline";
import {
  comparatorFor,
  isVersionEcosystem,
  type Ordering,
  VERSION_ECOSYSTEMS,
  type VersionComparator,
  VersionSyntaxError,
} from "@patchpilot/domain";
import { Command } from "commander";

const SYMBOL: Readonly<Record<Ordering, string>> = { [-1]: "<", 0: "=", 1: ">" };
// Batch output is written in chunks: one write per line would dominate a million-line run.
const CHUNK_LINES = 4096;

function fail(message: string, exitCode: number): void {
  process.stderr.write(`patchpilot vercmp: ${message}\n`);
  process.exitCode = exitCode;
}

type Outcome = { symbol: string } | { error: string };

/** Compares one pair, or says why not (the reason names the ecosystem and the bad version). */
function comparePair(comparator: VersionComparator, a: string, b: string): Outcome {
  try {
    return { symbol: SYMBOL[comparator.compare(a, b)] };
  } catch (error) {
    if (error instanceof VersionSyntaxError) return { error: error.message };
    throw error;
  }
}

function compareLine(comparator: VersionComparator, line: string): Outcome {
  const fields = line.split("\t");
  if (fields.length !== 2) {
    return { error: `expected two tab-separated versions, got ${fields.length} field(s)` };
  }
  return comparePair(comparator, fields[0] ?? "", fields[1] ?? "");
}

/** Reads pairs from standard input and prints one symbol a line, "!" for a line in error. */
async function compareBatch(comparator: VersionComparator): Promise<void> {
  let lineNumber = 0;
  let failures = 0;
  let chunk: string[] = [];
  const flush = async (): Promise<void> => {
    if (chunk.length === 0) return;
    const text = `${chunk.join("\n")}\n`;
    chunk = [];
    if (!process.stdout.write(text)) await new Promise((resolve) => process.stdout.once("drain", resolve));
  };
  // readline splits on \n and \r\n alike, so files written on Windows work too.
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
    lineNumber++;
    const result = compareLine(comparator, line);
    if ("error" in result) {
      failures++;
      process.stderr.write(`patchpilot vercmp: line ${lineNumber}: ${result.error}\n`);
      chunk.push("!");
    } else {
      chunk.push(result.symbol);
    }
    if (chunk.length >= CHUNK_LINES) await flush();
  }
  await flush();
  if (failures > 0) fail(`${failures} of ${lineNumber} line(s) could not be compared`, 1);
}

export function vercmpCommand(): Command {
  return new Command("vercmp")
    .description("compare two versions as the ecosystem's own tool does; prints <, = or >")
    .argument("<ecosystem>", `one of: ${VERSION_ECOSYSTEMS.join(", ")}`)
    .argument("[a]", "the first version")
    .argument("[b]", "the second version")
    .option("--batch", "read tab-separated pairs from standard input, one per line; print one symbol a line")
    .addHelpText(
      "after",
      [
        "",
        "Exit status: 0 when every comparison was made; 1 when a version is invalid (in batch mode",
        'the line prints "!" and the error goes to standard error with its line number); 2 for an',
        "unknown ecosystem or wrong arguments. Put -- before versions that start with a dash.",
        "",
        "Examples:",
        "  patchpilot vercmp dpkg 1:2.30-1 2.31-1",
        "  printf '1.0\\t1.0~rc1\\n' | patchpilot vercmp rpm --batch",
      ].join("\n"),
    )
    .action(
      async (
        ecosystem: string,
        a: string | undefined,
        b: string | undefined,
        options: { batch?: boolean },
      ) => {
        if (!isVersionEcosystem(ecosystem)) {
          fail(`unknown ecosystem ${JSON.stringify(ecosystem)}; known: ${VERSION_ECOSYSTEMS.join(", ")}`, 2);
          return;
        }
        const comparator = comparatorFor(ecosystem);
        if (options.batch) {
          if (a !== undefined) {
            fail("--batch reads the pairs from standard input; give no versions on the command line", 2);
            return;
          }
          await compareBatch(comparator);
          return;
        }
        if (a === undefined || b === undefined) {
          fail("give two versions to compare, or --batch to read pairs from standard input", 2);
          return;
        }
        const result = comparePair(comparator, a, b);
        if ("error" in result) fail(result.error, 1);
        else process.stdout.write(`${result.symbol}\n`);
      },
    );
}
