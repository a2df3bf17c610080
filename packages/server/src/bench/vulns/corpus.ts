/**
 * A seeded advisory corpus in the feeds' published formats: OSV records (JSON arrays of a thousand,
 * as `feeds import` reads them) and NVD CVE API 2.0 pages of two thousand. The same seed gives the
 * same corpus. Package names are drawn from a fixed universe per ecosystem with a skew, as in real
 * feeds (openssl has hundreds of advisories, most packages a few), so matching meets real shapes.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { random } from "../common/random.js";

/** One ecosystem of the corpus: its OSV spelling, its agent spelling and its version syntax. */
export interface CorpusEcosystem {
  osv: string;
  ecosystem: string;
  release: string;
  idPrefix: string;
  names: number;
  /** Share of the OSV records. */
  weight: number;
  version(major: number, minor: number, patch: number, revision: number): string;
}

export const ECOSYSTEMS: readonly CorpusEcosystem[] = [
  {
    osv: "Debian:12",
    ecosystem: "dpkg",
    release: "debian:12",
    idPrefix: "DEBIAN-",
    names: 8000,
    weight: 0.22,
    version: (a, b, c, r) => `${a}.${b}.${c}-${r}`,
  },
  {
    osv: "Ubuntu:22.04:LTS",
    ecosystem: "dpkg",
    release: "ubuntu:22.04",
    idPrefix: "UBUNTU-",
    names: 6000,
    weight: 0.18,
    version: (a, b, c, r) => `${a}.${b}.${c}-${r}ubuntu${r % 3}`,
  },
  {
    osv: "Alpine:v3.19",
    ecosystem: "apk",
    release: "alpine:3.19",
    idPrefix: "ALPINE-",
    names: 3000,
    weight: 0.08,
    version: (a, b, c, r) => `${a}.${b}.${c}-r${r}`,
  },
  {
    osv: "Red Hat:enterprise_linux:9::baseos",
    ecosystem: "rpm",
    release: "rhel:9",
    idPrefix: "RHSA-",
    names: 5000,
    weight: 0.12,
    version: (a, b, c, r) => `${a}.${b}.${c}-${r}.el9`,
  },
  {
    osv: "npm",
    ecosystem: "npm",
    release: "",
    idPrefix: "GHSA-",
    names: 20000,
    weight: 0.18,
    version: (a, b, c) => `${a}.${b}.${c}`,
  },
  {
    osv: "PyPI",
    ecosystem: "pypi",
    release: "",
    idPrefix: "PYSEC-",
    names: 10000,
    weight: 0.1,
    version: (a, b, c) => `${a}.${b}.${c}`,
  },
  {
    osv: "Go",
    ecosystem: "go",
    release: "",
    idPrefix: "GO-",
    names: 3000,
    weight: 0.06,
    version: (a, b, c) => `${a}.${b}.${c}`,
  },
  {
    osv: "Maven",
    ecosystem: "maven",
    release: "",
    idPrefix: "MAVEN-",
    names: 5000,
    weight: 0.06,
    version: (a, b, c) => `${a}.${b}.${c}`,
  },
];

const VECTORS: readonly [string, number, string][] = [
  ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL"],
  ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5, "HIGH"],
  ["CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N", 6.5, "MEDIUM"],
  ["CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, "MEDIUM"],
  ["CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8, "HIGH"],
  ["CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1, "LOW"],
];
const CWES = ["CWE-79", "CWE-787", "CWE-89", "CWE-416", "CWE-20", "CWE-125", "CWE-78", "CWE-352"];

/** Package i of an ecosystem: skewed so low indexes (the popular packages) come up far more often. */
export function packageName(eco: CorpusEcosystem, index: number): string {
  return `${eco.ecosystem}-${eco.release.replace(/[:.]/g, "")}-pkg${index}`;
}

/** A package's index drawn with a skew: about a fifth of draws land in the first 1 % of names. */
function skewedIndex(rand: () => number, names: number): number {
  return Math.min(names - 1, Math.floor(names * rand() ** 2.2));
}

export function cveId(index: number): string {
  return `CVE-${2000 + (index % 26)}-${String(10000 + index).padStart(5, "0")}`;
}

function isoDay(rand: () => number, revision: number): string {
  const day = new Date(
    Date.UTC(2020, 0, 1) + Math.floor(rand() * 5 * 365) * 86_400_000 + revision * 3_600_000,
  );
  return day.toISOString().replace(".000Z", "Z");
}

function ecosystemOf(rand: () => number): CorpusEcosystem {
  let r = rand();
  for (const eco of ECOSYSTEMS) {
    r -= eco.weight;
    if (r < 0) return eco;
  }
  return ECOSYSTEMS[0] as CorpusEcosystem;
}

/**
 * OSV record i. `revision` > 0 gives the same record as corrected later (a new fixed version and
 * modified time), for the daily delta. Three records in five name a CVE of the NVD part as alias.
 */
export function osvRecord(i: number, nvdCves: number, revision = 0): Record<string, unknown> {
  const rand = random(0x05f1 ^ (i * 2654435761));
  const eco = ecosystemOf(rand);
  const name = packageName(eco, skewedIndex(rand, eco.names));
  const major = 1 + Math.floor(rand() * 5);
  const minor = Math.floor(rand() * 10);
  const patch = Math.floor(rand() * 20) + revision;
  const rev = 1 + Math.floor(rand() * 4);
  const [vector, score] = VECTORS[Math.floor(rand() * VECTORS.length)] as [string, number, string];
  const cve = rand() < 0.6 ? cveId(Math.floor(rand() * nvdCves)) : cveId(nvdCves + i);
  const introduced = rand() < 0.7 ? "0" : eco.version(major, Math.max(0, minor - 2), 0, 1);
  const events: Record<string, string>[] = [{ introduced }];
  if (rand() < 0.9) events.push({ fixed: eco.version(major, minor, patch, rev) });
  const id = `${eco.idPrefix}${String(i).padStart(7, "0")}`;
  return {
    schema_version: "1.6.0",
    id,
    modified: isoDay(rand, revision + 1),
    published: isoDay(rand, 0),
    aliases: [cve],
    summary: `${name}: ${CWES[i % CWES.length]} in a request handler`,
    details: `A flaw was found in ${name} before ${eco.version(major, minor, patch, rev)}. A remote attacker could use it to run code or read memory they should not.`,
    severity: [{ type: "CVSS_V3", score: vector }],
    affected: [
      {
        package: { ecosystem: eco.osv, name },
        ranges: [
          { type: eco.ecosystem === "npm" || eco.ecosystem === "go" ? "SEMVER" : "ECOSYSTEM", events },
        ],
        database_specific: { cvss: score },
      },
    ],
    references: [{ type: "ADVISORY", url: `https://security.example.org/${id}` }],
  };
}

/** NVD CVE i in the CVE API 2.0 shape; `revision` > 0 rescored and re-dated (the daily delta). */
export function nvdCve(i: number, revision = 0): Record<string, unknown> {
  const rand = random(0x0ed ^ (i * 2246822519));
  const [vector, score, severity] = VECTORS[
    (Math.floor(rand() * VECTORS.length) + revision) % VECTORS.length
  ] as [string, number, string];
  const vendor = `vendor${Math.floor(rand() * 3000)}`;
  const product = `product${Math.floor(rand() * 20000)}`;
  const major = 1 + Math.floor(rand() * 9);
  return {
    cve: {
      id: cveId(i),
      sourceIdentifier: "cve@mitre.org",
      published: isoDay(rand, 0).replace("Z", ".000"),
      lastModified: isoDay(rand, revision + 1).replace("Z", ".000"),
      vulnStatus: revision > 0 ? "Modified" : "Analyzed",
      descriptions: [
        {
          lang: "en",
          value: `${product} by ${vendor} before ${major}.${Math.floor(rand() * 10)} allows attackers to cause a denial of service or possibly execute code via crafted input.`,
        },
      ],
      metrics: {
        cvssMetricV31: [
          {
            source: "nvd@nist.gov",
            type: "Primary",
            cvssData: { version: "3.1", vectorString: vector, baseScore: score, baseSeverity: severity },
            exploitabilityScore: 3.9,
            impactScore: 5.9,
          },
        ],
      },
      weaknesses: [
        {
          source: "nvd@nist.gov",
          type: "Primary",
          description: [{ lang: "en", value: CWES[i % CWES.length] }],
        },
      ],
      configurations: [
        {
          nodes: [
            {
              operator: "OR",
              negate: false,
              cpeMatch: [
                {
                  vulnerable: true,
                  criteria: `cpe:2.3:a:${vendor}:${product}:*:*:*:*:*:*:*:*`,
                  versionEndExcluding: `${major}.${Math.floor(rand() * 10)}.${revision}`,
                  matchCriteriaId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
                },
              ],
            },
          ],
        },
      ],
      references: [{ url: `https://nvd.example.org/${cveId(i)}`, source: "cve@mitre.org" }],
    },
  };
}

export function nvdPage(
  start: number,
  count: number,
  total: number,
  ids: (k: number) => number,
  revision = 0,
): string {
  const vulnerabilities = [];
  for (let k = 0; k < count; k++) vulnerabilities.push(nvdCve(ids(start + k), revision));
  return JSON.stringify({
    resultsPerPage: count,
    startIndex: start,
    totalResults: total,
    format: "NVD_CVE",
    version: "2.0",
    timestamp: "2026-12-01T00:00:00.000",
    vulnerabilities,
  });
}

export interface CorpusFiles {
  dir: string;
  files: number;
  bytes: number;
}

const OSV_PER_FILE = 1000;
const NVD_PER_PAGE = 2000;

/** Writes the corpus (OSV records 0…osv-1, NVD CVEs 0…nvd-1) as files into `dir`. */
export async function writeCorpus(dir: string, osv: number, nvd: number): Promise<CorpusFiles> {
  await mkdir(path.join(dir, "osv"), { recursive: true });
  await mkdir(path.join(dir, "nvd"), { recursive: true });
  let files = 0;
  let bytes = 0;
  for (let start = 0; start < osv; start += OSV_PER_FILE) {
    const records = [];
    for (let i = start; i < Math.min(osv, start + OSV_PER_FILE); i++) records.push(osvRecord(i, nvd));
    const text = JSON.stringify(records);
    await writeFile(path.join(dir, "osv", `osv-${String(start / OSV_PER_FILE).padStart(4, "0")}.json`), text);
    files++;
    bytes += text.length;
  }
  for (let start = 0; start < nvd; start += NVD_PER_PAGE) {
    const text = nvdPage(start, Math.min(NVD_PER_PAGE, nvd - start), nvd, (k) => k);
    await writeFile(path.join(dir, "nvd", `nvd-${String(start / NVD_PER_PAGE).padStart(4, "0")}.json`), text);
    files++;
    bytes += text.length;
  }
  return { dir, files, bytes };
}

/**
 * A delta: `osv` OSV records and `nvd` NVD CVEs of the corpus, corrected (new fixed versions, new
 * scores, new modified times), spread evenly over the corpus from `offset` on. Returns the OSV
 * records' indexes.
 */
export async function writeDelta(
  dir: string,
  corpusOsv: number,
  corpusNvd: number,
  osv: number,
  nvd: number,
  revision = 1,
  offset = 0,
): Promise<number[]> {
  await mkdir(dir, { recursive: true });
  const osvIds = Array.from(
    { length: osv },
    (_, k) => (Math.floor((k * corpusOsv) / osv) + offset) % corpusOsv,
  );
  await writeFile(
    path.join(dir, "osv-delta.json"),
    JSON.stringify(osvIds.map((i) => osvRecord(i, corpusNvd, revision))),
  );
  if (nvd > 0) {
    const step = corpusNvd / nvd;
    await writeFile(
      path.join(dir, "nvd-delta.json"),
      nvdPage(0, nvd, nvd, (k) => (Math.floor(k * step) + offset) % corpusNvd, revision),
    );
  }
  return osvIds;
}
