/**
 * A sandbox for tests that install real Debian packages: .deb files built on the fly, a local apt
 * repository, and a root directory with its own dpkg database where dpkg and apt install them.
 * Nothing touches the host's packages: dpkg runs with `--root` (and `--log`) and apt through the
 * agent's own configuration for another root (patch/apt-root.ts), which keeps the host's apt
 * configuration and state out. No chroot is needed: the sandbox's apt configuration tells dpkg to
 * run maintainer scripts without one (`--force-script-chrootless`, with DPKG_ROOT set).
 *
 * Used by the agent's tests and by the server's end-to-end tests, which run a real agent with
 * `agentArgs` so that it reports the sandbox's inventory and installs into it.
 */
import { createHash, randomBytes } from "node:crypto";
import { accessSync, constants, statSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { parseControlStanzas } from "../collectors/control-file.js";
import { parseDpkgStatus } from "../collectors/dpkg-status.js";
import { runCommand } from "../collectors/run-command.js";
import { aptInvocation } from "../patch/apt-root.js";

/** A tiny package: a name, a version, the files it installs and, optionally, a postinst script. */
export interface DebSpec {
  name: string;
  version: string;
  /** Files by absolute path inside the root; default `/usr/share/<name>/VERSION` holding the version. */
  files?: Readonly<Record<string, string>>;
  /**
   * A postinst maintainer script (shell). It runs outside any chroot with DPKG_ROOT set to the
   * sandbox root, so it must write under "$DPKG_ROOT" only.
   */
  postinst?: string;
  /** A Depends field, e.g. `bar (>= 1.1)`. */
  depends?: string;
}

export interface AptRepository {
  dir: string;
  /** The sources.list line the sandbox uses for it. */
  sourceLine: string;
}

export interface AptSandboxOptions {
  /** Packages the sandbox's repository offers; default foo 1.0 and foo 1.1. */
  available?: readonly DebSpec[];
  /** Installed with dpkg when the sandbox is made; default foo 1.0. */
  installed?: readonly DebSpec[];
  /** The repository's suite; one ending in `-security` makes its packages security updates. */
  suite?: string;
}

export interface AptSandbox {
  /** The sandbox's filesystem root: dpkg database, apt state and installed files. */
  readonly root: string;
  /** Where built packages and repositories live (beside the root, not in it). */
  readonly workDir: string;
  /** What `patchpilot-agent run` (and `enroll`, `inventory`) needs to work on the sandbox. */
  readonly agentArgs: readonly string[];
  /** Environment the agent needs beside its own: none, everything follows from `--root`. */
  readonly env: Readonly<Record<string, string>>;
  buildDeb(spec: DebSpec): Promise<string>;
  /** Builds the packages into a new repository and adds it to the sandbox's sources. */
  addRepository(name: string, specs: readonly DebSpec[], suite?: string): Promise<AptRepository>;
  /** Installs built .deb files with dpkg itself (not apt). */
  dpkgInstall(debs: readonly string[]): Promise<void>;
  /** `apt-get update` in the sandbox. */
  aptUpdate(): Promise<void>;
  /** The version the sandbox's dpkg database has installed, or null. */
  installedVersion(name: string): Promise<string | null>;
  /** The package's dpkg `Status:` line (`install ok installed`, `hold ok installed`), or null. */
  dpkgStatus(name: string): Promise<string | null>;
  remove(): Promise<void>;
}

const TOOLS = [
  ["dpkg", "dpkg"],
  ["dpkg-deb", "dpkg"],
  ["dpkg-scanpackages", "dpkg-dev"],
  ["apt-get", "apt"],
  ["apt-mark", "apt"],
] as const;
let reported = false;

function onPath(command: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not here; keep looking.
    }
  }
  return null;
}

/**
 * Whether the sandbox can be made here: root on Linux, with dpkg, dpkg-deb, dpkg-scanpackages and
 * apt-get. Otherwise the test is skipped with the reason printed once; under CI=true it fails
 * instead, because a skipped install test would look like a passing one.
 */
export function aptSandboxAvailable(): boolean {
  const reasons: string[] = [];
  if (process.platform !== "linux") reasons.push("it needs Linux");
  else if (process.getuid?.() !== 0) reasons.push("it needs root (dpkg and apt write their databases)");
  const missing = TOOLS.filter(([command]) => onPath(command) === null);
  if (missing.length > 0) {
    const packages = [...new Set(missing.map(([, pkg]) => pkg))].join(", ");
    reasons.push(`${missing.map(([c]) => c).join(", ")} not found (Debian packages ${packages})`);
  }
  if (reasons.length === 0) return true;
  const reason = `apt sandbox unavailable: ${reasons.join("; ")}`;
  if (process.env.CI === "true") {
    throw new Error(`${reason}; under CI run the tests as root after: bash scripts/install-test-peers.sh`);
  }
  if (!reported) {
    reported = true;
    console.warn(`skipping: ${reason}; install with: sudo bash scripts/install-test-peers.sh`);
  }
  return false;
}

const DEB_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const DEB_VERSION = /^[0-9][A-Za-z0-9.+~:-]*$/;
/** dpkg checks PATH for ldconfig and start-stop-daemon before it installs anything. */
const SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

async function run(file: string, args: readonly string[]): Promise<string> {
  const result = await runCommand(file, args, {
    timeoutMs: 300_000,
    maxOutputBytes: 16 * 1024 * 1024,
    env: { PATH: `${process.env.PATH ?? ""}${delimiter}${SBIN_PATH}`, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (result.code !== 0) {
    throw new Error(
      `${file} ${args.join(" ")} exited with ${result.code}: ${result.stderr || result.stdout}`,
    );
  }
  return result.stdout;
}

/** `dpkg-deb --build` of a package tree written from the spec, in a directory of its own per spec. */
async function buildDeb(spec: DebSpec, debDir: string): Promise<string> {
  if (!DEB_NAME.test(spec.name) || !DEB_VERSION.test(spec.version)) {
    throw new Error(`not a Debian package name and version: ${JSON.stringify([spec.name, spec.version])}`);
  }
  const outDir = join(debDir, createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 16));
  const deb = join(outDir, `${spec.name}_${spec.version}_all.deb`);
  if (statSync(deb, { throwIfNoEntry: false })?.isFile()) return deb;
  const tree = join(outDir, "tree");
  await mkdir(join(tree, "DEBIAN"), { recursive: true });
  const files = spec.files ?? { [`/usr/share/${spec.name}/VERSION`]: `${spec.version}\n` };
  for (const [path, content] of Object.entries(files)) {
    if (!path.startsWith("/") || path.split("/").includes("..")) throw new Error(`bad file path ${path}`);
    await mkdir(dirname(join(tree, path)), { recursive: true });
    await writeFile(join(tree, path), content);
  }
  const control = [
    `Package: ${spec.name}`,
    `Version: ${spec.version}`,
    "Architecture: all",
    "Maintainer: PatchPilot tests <tests@patchpilot.invalid>",
    ...(spec.depends ? [`Depends: ${spec.depends.replace(/\n/g, " ")}`] : []),
    `Description: ${spec.name}, a package built by PatchPilot's tests`,
    "",
  ].join("\n");
  await writeFile(join(tree, "DEBIAN", "control"), control);
  if (spec.postinst !== undefined) {
    await writeFile(join(tree, "DEBIAN", "postinst"), spec.postinst);
    await chmod(join(tree, "DEBIAN", "postinst"), 0o755);
  }
  await run("dpkg-deb", ["--root-owner-group", "--build", tree, deb]);
  return deb;
}

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const md5 = (data: Buffer) => createHash("md5").update(data).digest("hex");

/** A flat repository: Packages and Packages.gz from dpkg-scanpackages, and a Release file naming their hashes. */
async function writeRepository(dir: string, suite: string): Promise<void> {
  const packages = Buffer.from(await run("dpkg-scanpackages", ["--multiversion", dir, "/dev/null"]), "utf8");
  // dpkg-scanpackages names files by the path it was given; a flat repository wants them relative.
  const relative = Buffer.from(packages.toString("utf8").replaceAll(`Filename: ${dir}/`, "Filename: ./"));
  const gz = gzipSync(relative);
  await writeFile(join(dir, "Packages"), relative);
  await writeFile(join(dir, "Packages.gz"), gz);
  const entries = [
    ["Packages", relative],
    ["Packages.gz", gz],
  ] as const;
  const release = [
    "Origin: PatchPilot-Sandbox",
    "Label: PatchPilot-Sandbox",
    `Suite: ${suite}`,
    `Codename: ${suite}`,
    "Version: 1",
    `Date: ${new Date().toUTCString()}`,
    "Architectures: all",
    "MD5Sum:",
    ...entries.map(([name, data]) => ` ${md5(data)} ${data.length} ${name}`),
    "SHA256:",
    ...entries.map(([name, data]) => ` ${sha256(data)} ${data.length} ${name}`),
    "",
  ].join("\n");
  await writeFile(join(dir, "Release"), release);
}

/** The root's skeleton: what dpkg and apt expect to find, and the files the agent's detection reads. */
async function makeRoot(root: string): Promise<void> {
  for (const dir of [
    "etc/apt/apt.conf.d",
    "etc/apt/sources.list.d",
    "etc/apt/preferences.d",
    "etc/apt/trusted.gpg.d",
    "var/lib/dpkg/info",
    "var/lib/dpkg/updates",
    "var/lib/dpkg/triggers",
    "var/lib/apt/lists/partial",
    "var/cache/apt/archives/partial",
    "var/log/apt",
    "var/run",
    "usr/bin",
  ]) {
    await mkdir(join(root, dir), { recursive: true });
  }
  await writeFile(join(root, "var/lib/dpkg/status"), "");
  await writeFile(join(root, "var/lib/dpkg/available"), "");
  await writeFile(join(root, "etc/apt/sources.list"), "");
  await writeFile(
    join(root, "etc/apt/apt.conf.d/00patchpilot-sandbox"),
    [
      "// A test sandbox with no shell of its own: maintainer scripts run without a chroot, with",
      "// DPKG_ROOT set to this root. Downloads from the file: repositories run as root.",
      'DPkg::Options:: "--force-script-chrootless";',
      'APT::Sandbox::User "root";',
      'Acquire::Languages "none";',
      "",
    ].join("\n"),
  );
  // The agent finds apt by its programs under the root; for another root it runs the host's.
  for (const program of ["apt-get", "apt-mark"]) {
    const host = onPath(program);
    if (host) await copyFile(host, join(root, "usr/bin", program));
  }
  for (const file of ["etc/os-release", "etc/debian_version"]) {
    const text = await readFile(join("/", file), "utf8").catch(() => null);
    if (text !== null) await writeFile(join(root, file), text);
  }
  // Its own machine id, so an agent enrolled with --root is a device of its own.
  await writeFile(join(root, "etc/machine-id"), `${randomBytes(16).toString("hex")}\n`);
}

const DEFAULT_AVAILABLE: readonly DebSpec[] = [
  { name: "foo", version: "1.0" },
  { name: "foo", version: "1.1" },
];

/**
 * Makes a sandbox: builds the `available` packages into a local repository (a `[trusted=yes]`
 * file: source), installs the `installed` ones with dpkg, and runs `apt-get update`. Call
 * `remove()` when done.
 */
export async function createAptSandbox(options: AptSandboxOptions = {}): Promise<AptSandbox> {
  const workDir = await mkdtemp(join(tmpdir(), "patchpilot-apt-sandbox-"));
  const root = join(workDir, "root");
  const debDir = join(workDir, "debs");
  await mkdir(debDir, { recursive: true });
  await makeRoot(root);
  const statusFile = () => readFile(join(root, "var/lib/dpkg/status"), "utf8");
  let repositories = 0;

  const sandbox: AptSandbox = {
    root,
    workDir,
    agentArgs: ["--root", root],
    env: {},
    buildDeb: (spec) => buildDeb(spec, debDir),
    async addRepository(name, specs, suite = "sandbox") {
      if (!/^[a-z0-9-]+$/.test(name)) throw new Error(`bad repository name ${name}`);
      const dir = join(workDir, `repo-${name}`);
      await mkdir(dir, { recursive: true });
      for (const spec of specs)
        await copyFile(await buildDeb(spec, debDir), join(dir, `${spec.name}_${spec.version}_all.deb`));
      await writeRepository(dir, suite);
      const sourceLine = `deb [trusted=yes] file:${dir} ./`;
      repositories++;
      await writeFile(
        join(root, "etc/apt/sources.list.d", `${String(repositories).padStart(2, "0")}-${name}.list`),
        `${sourceLine}\n`,
      );
      return { dir, sourceLine };
    },
    async dpkgInstall(debs) {
      await run("dpkg", [
        `--root=${root}`,
        `--log=${join(root, "var/log/dpkg.log")}`,
        "--force-script-chrootless",
        "--install",
        ...debs,
      ]);
    },
    async aptUpdate() {
      const dpkg = onPath("dpkg") ?? "/usr/bin/dpkg";
      const invocation = await aptInvocation(root, dpkg);
      try {
        const result = await runCommand("apt-get", [...invocation.options, "update"], {
          timeoutMs: 120_000,
          maxOutputBytes: 16 * 1024 * 1024,
          env: invocation.env,
        });
        if (result.code !== 0) throw new Error(`apt-get update failed: ${result.stderr || result.stdout}`);
      } finally {
        await invocation.dispose();
      }
    },
    async installedVersion(name) {
      return parseDpkgStatus(await statusFile()).packages.find((p) => p.name === name)?.version ?? null;
    },
    async dpkgStatus(name) {
      const stanza = parseControlStanzas(await statusFile()).find((s) => s.fields.get("package") === name);
      return stanza?.fields.get("status") ?? null;
    },
    remove: () => rm(workDir, { recursive: true, force: true }),
  };

  try {
    await sandbox.addRepository("main", options.available ?? DEFAULT_AVAILABLE, options.suite);
    const installed = options.installed ?? [{ name: "foo", version: "1.0" }];
    if (installed.length > 0) {
      await sandbox.dpkgInstall(await Promise.all(installed.map((spec) => buildDeb(spec, debDir))));
    }
    await sandbox.aptUpdate();
  } catch (error) {
    await sandbox.remove();
    throw error;
  }
  return sandbox;
}
