/**
 * The dpkg and rpm comparators checked against the real tools on thousands of real version pairs:
 * `dpkg --compare-versions` one pair per process (at most 8 at a time), and rpm's own
 * `rpm.vercmp()` over a Lua table of pairs in a single `rpm --eval`. Programs run with execFile or
 * spawn and an argument list, never through a shell. Every disagreement is listed in the failure.
 */
import { execFile, spawn } from "node:child_process";
import { createReadStream, existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import {
  compareDpkgVersions,
  compareVersions,
  parseDpkgVersion,
  VersionSyntaxError,
} from "@patchpilot/domain";
import { describe, expect, it } from "vitest";
import { requirePeer } from "../testing/peers.js";

const hasDpkg = requirePeer("dpkg", "dpkg");
const hasRpm = requirePeer("rpm", "rpm");

const TESTDATA = new URL("../../../domain/src/versions/testdata/", import.meta.url);
const APT_LISTS = "/var/lib/apt/lists";
const APT_HELPER = "/usr/lib/apt/apt-helper";
const PARALLEL = 8;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function mapWithLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** mulberry32: a seeded generator returning integers below n, so every run samples the same pairs. */
function seeded(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

type Pair = readonly [string, string];

/** Package → versions, from the installed packages and every apt index on this machine. */
async function debianVersions(): Promise<Map<string, Set<string>>> {
  const byPackage = new Map<string, Set<string>>();
  const add = (name: string, version: string): void => {
    if (name === "" || version === "") return;
    const versions = byPackage.get(name) ?? new Set<string>();
    versions.add(version);
    byPackage.set(name, versions);
  };
  // biome-ignore lint/suspicious/noTemplateCurlyInString: ${Package} is dpkg-query's field syntax, not a template.
  const installed = await run("dpkg-query", ["-W", "-f", "${Package}\t${Version}\n"]);
  for (const line of installed.stdout.split("\n")) {
    const [name = "", version = ""] = line.split("\t");
    add(name, version);
  }
  const lists = existsSync(APT_LISTS)
    ? readdirSync(APT_LISTS).filter((f) => /_Packages(\.\w+)?$/.test(f))
    : [];
  for (const list of lists.sort()) {
    const file = path.join(APT_LISTS, list);
    // apt-helper cat-file reads the index whatever its compression (lz4 here); plain files direct.
    const compressed = !list.endsWith("_Packages");
    if (compressed && !existsSync(APT_HELPER)) continue;
    const input = compressed
      ? spawn(APT_HELPER, ["cat-file", file], { stdio: ["ignore", "pipe", "ignore"] }).stdout
      : createReadStream(file);
    let name = "";
    for await (const line of createInterface({ input })) {
      if (line.startsWith("Package: ")) name = line.slice(9).trim();
      else if (line.startsWith("Version: ")) add(name, line.slice(9).trim());
    }
  }
  return byPackage;
}

/**
 * A deterministic sample: neighbouring versions of the same package, random pairs from the whole
 * pool, neighbours in sorted order (the closest calls), and a version against itself with "0:".
 */
function samplePairs(byPackage: Map<string, Set<string>>, compare: (a: string, b: string) => number): Pair[] {
  const random = seeded(20261201);
  const siblings: Pair[] = [];
  for (const name of [...byPackage.keys()].sort()) {
    const versions = [...(byPackage.get(name) ?? [])].sort();
    for (let i = 1; i < versions.length; i++) siblings.push([versions[i - 1] ?? "", versions[i] ?? ""]);
  }
  const pairs: Pair[] = [];
  for (let i = 0; i < 1500 && siblings.length > 0; i++)
    pairs.push(siblings[random(siblings.length)] ?? ["", ""]);
  const pool = [...new Set([...byPackage.values()].flatMap((versions) => [...versions]))].sort();
  for (let i = 0; i < 1500; i++) {
    pairs.push([pool[random(pool.length)] ?? "", pool[random(pool.length)] ?? ""]);
  }
  const ordered = [...pool].sort(compare);
  for (let i = 0; i < 1000; i++) {
    const at = 1 + random(ordered.length - 1);
    pairs.push([ordered[at - 1] ?? "", ordered[at] ?? ""]);
  }
  for (const version of pool.filter((v) => !v.includes(":")).slice(0, 200)) {
    pairs.push([version, `0:${version}`]);
  }
  return pairs.filter(([a, b]) => a !== "" && b !== "");
}

async function dpkgOrder(a: string, b: string): Promise<number | string> {
  const lt = await run("dpkg", ["--compare-versions", a, "lt", b]);
  if (lt.code === 0) return -1;
  if (lt.code !== 1) return `dpkg failed: ${lt.stderr.trim()}`;
  const eq = await run("dpkg", ["--compare-versions", a, "eq", b]);
  return eq.code === 0 ? 0 : eq.code === 1 ? 1 : `dpkg failed: ${eq.stderr.trim()}`;
}

function ours(compare: () => number): number | string {
  try {
    return compare();
  } catch (error) {
    if (error instanceof VersionSyntaxError) return `refused: ${error.reason}`;
    throw error;
  }
}

describe("dpkg comparator against dpkg --compare-versions", { timeout: 180_000 }, () => {
  it.skipIf(!hasDpkg)("agrees on thousands of real Debian version pairs", async () => {
    const byPackage = await debianVersions();
    // Lax, because that is what dpkg --compare-versions accepts; real archive versions are strict anyway.
    const pairs = samplePairs(byPackage, (a, b) => compareDpkgVersions(a, b, "lax"));
    // A few hand-picked calls on top: bytes beyond ASCII, warning-level strings, epoch spellings.
    pairs.push(
      ["1.0é", "1.0z"],
      ["1.0é", "1.0."],
      ["1.0!", "1.0"],
      ["+5:1", "5:1"],
      ["\n1:0", "1:0"],
      ["0:0-0:0", "0:0-0"],
    );
    expect(pairs.length).toBeGreaterThanOrEqual(3000);

    const answers = await mapWithLimit(pairs, PARALLEL, ([a, b]) => dpkgOrder(a, b));
    const problems: string[] = [];
    pairs.forEach(([a, b], i) => {
      const mine = ours(() => compareDpkgVersions(a, b, "lax"));
      if (mine !== answers[i]) {
        problems.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}: dpkg ${answers[i]}, ours ${mine}`);
      }
    });
    console.info(`dpkg oracle: ${pairs.length} pairs compared, ${problems.length} disagreements`);
    expect(
      problems,
      `${problems.length} of ${pairs.length} pairs disagree with dpkg:\n${problems.join("\n")}`,
    ).toEqual([]);
  });

  it.skipIf(!hasDpkg)(
    "refuses, warns about and accepts exactly what dpkg does, for the same reason",
    async () => {
      const inputs = readFileSync(new URL("dpkg/dpkg-parse-vectors.tsv", TESTDATA), "utf8")
        .split("\n")
        .filter((line) => line !== "" && !line.startsWith("#"))
        .map((line) => (line.split("\t")[0] ?? "").replaceAll("\\t", "\t"))
        // dpkg --compare-versions reads "" as "no version", not as a syntax error.
        .filter((input) => input !== "");
      for (const c of "!#@$%&/|\\<>()[]{};,_=*^'") inputs.push(`0:0${c}-0`, `0:0-${c}`);
      inputs.push(
        "0:0-:",
        "1-",
        "-",
        "1--",
        ":1",
        "+:1",
        "-0:1",
        "2147483647:1",
        "2147483648:1",
        "\v0",
        "1\r",
      );

      const verdict = async (input: string): Promise<string> => {
        // The version goes third: dpkg would read a first argument starting with "-" as an option.
        const result = await run("dpkg", ["--compare-versions", "0", "lt", input]);
        const reason = /has bad syntax: (.*)$/m.exec(result.stderr)?.[1] ?? "";
        if (result.code > 1) return `error: ${reason}`;
        return reason === "" ? "ok" : `warning: ${reason}`;
      };
      const answers = await mapWithLimit(inputs, PARALLEL, verdict);
      const problems: string[] = [];
      inputs.forEach((input, i) => {
        let mine: string;
        try {
          const warning = parseDpkgVersion(input, "lax").warning;
          mine = warning === null ? "ok" : `warning: ${warning}`;
        } catch (error) {
          if (!(error instanceof VersionSyntaxError)) throw error;
          mine = `error: ${error.reason}`;
        }
        if (mine !== answers[i]) problems.push(`${JSON.stringify(input)}: dpkg ${answers[i]}, ours ${mine}`);
      });
      console.info(
        `dpkg parse oracle: ${inputs.length} strings classified, ${problems.length} disagreements`,
      );
      expect(problems, problems.join("\n")).toEqual([]);
    },
  );
});

/** A Lua string literal holding exactly the UTF-8 bytes of `text`. */
function luaString(text: string): string {
  let out = '"';
  for (const byte of Buffer.from(text, "utf8")) {
    out +=
      byte >= 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x5c ? String.fromCharCode(byte) : `\\${byte}`;
  }
  return `${out}"`;
}

function rpmVectorPairs(): Pair[] {
  const pairs: Pair[] = [];
  const rpmvercmp = readFileSync(new URL("rpm/rpmvercmp.at", TESTDATA), "utf8");
  for (const match of rpmvercmp.matchAll(/^(?:dnl )?RPMVERCMP\((.*), (.*), -?\d\)$/gm)) {
    pairs.push([match[1] ?? "", match[2] ?? ""]);
  }
  const redhat = readFileSync(new URL("osv-scanner/redhat-versions.txt", TESTDATA), "utf8");
  for (const line of redhat.split("\n")) {
    const [a, op, b] = line.split(" ");
    if (a !== undefined && b !== undefined && (op === "<" || op === "=" || op === ">")) pairs.push([a, b]);
  }
  return pairs;
}

describe("rpm comparator against rpm's rpm.vercmp()", { timeout: 180_000 }, () => {
  it.skipIf(!hasRpm)("agrees on thousands of EVR pairs", async () => {
    const pairs = rpmVectorPairs();
    // Real-looking EVRs: Debian's epoch:version-revision strings have the same shape.
    const byPackage = hasDpkg ? await debianVersions() : new Map<string, Set<string>>();
    pairs.push(...samplePairs(byPackage, (a, b) => compareVersions("rpm", a, b)));
    const random = seeded(4180);
    const base = pairs.map(([a]) => a);
    for (let i = 0; i < 600; i++) {
      const version = base[random(base.length)] ?? "1.0";
      const suffix = ["~rc1", "^git1", "~", "^", ".el9", "-1.el8_9", "^20240101git1~pre"][random(7)] ?? "";
      pairs.push([version, `${version}${suffix}`], [`${version}${suffix}`, `${version}~`]);
    }
    expect(pairs.length).toBeGreaterThanOrEqual(3000);

    const dir = await mkdtemp(path.join(tmpdir(), "pp-rpm-oracle-"));
    try {
      const table = path.join(dir, "pairs.lua");
      await writeFile(
        table,
        `return {\n${pairs.map(([a, b]) => `{${luaString(a)}, ${luaString(b)}},`).join("\n")}\n}\n`,
      );
      // The table's path reaches Lua through a macro defined on the command line, not by splicing.
      const script =
        '%{lua: for _, p in ipairs(dofile(rpm.expand("%{_pp_pairs}"))) do print(rpm.vercmp(p[1], p[2]) .. "\\n") end}';
      const result = await run("rpm", ["--define", `_pp_pairs ${table}`, "--eval", script]);
      expect(result.code, result.stderr).toBe(0);
      const answers = result.stdout
        .split("\n")
        .filter((line) => line !== "")
        .map(Number);
      expect(answers).toHaveLength(pairs.length);

      const problems: string[] = [];
      pairs.forEach(([a, b], i) => {
        const mine = ours(() => compareVersions("rpm", a, b));
        if (mine !== answers[i]) {
          problems.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}: rpm ${answers[i]}, ours ${mine}`);
        }
      });
      console.info(`rpm oracle: ${pairs.length} pairs compared, ${problems.length} disagreements`);
      expect(
        problems,
        `${problems.length} of ${pairs.length} pairs disagree with rpm:\n${problems.join("\n")}`,
      ).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
