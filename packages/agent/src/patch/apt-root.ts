import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** How every apt program of one job is invoked: options before the command, and environment. */
export interface AptInvocation {
  /** `-o` options placed before apt's own arguments; none on the live system. */
  options: string[];
  env: Record<string, string>;
  /** Removes the private configuration written for another root. */
  dispose(): Promise<void>;
}

/** Never a prompt: no debconf questions, no apt-listchanges pager. */
const NONINTERACTIVE = { DEBIAN_FRONTEND: "noninteractive", APT_LISTCHANGES_FRONTEND: "none" };

/**
 * The live system (`/`) uses apt as configured. For another root (a mounted system, or a test
 * sandbox) everything must stay inside that root, host untouched:
 *
 * - `APT_CONFIG` names a file, read before any other configuration, that moves `Dir` to the root,
 *   so apt then reads the root's `etc/apt` (sources, apt.conf.d) instead of the host's: the host's
 *   `DPkg::Post-Invoke` hooks never run, its lists and caches are never written.
 * - The same directories again as `-o` options, which win over anything the root's configuration
 *   says, plus dpkg's `--root` (its database, files and maintainer scripts) and `--log` (dpkg logs
 *   to the host's /var/log/dpkg.log otherwise), and the host's own dpkg program.
 */
export async function aptInvocation(root: string, dpkgProgram: string): Promise<AptInvocation> {
  if (root === "/") return { options: [], env: { ...NONINTERACTIVE }, dispose: async () => {} };
  const dir = resolve(root);
  // The path goes into an apt configuration file between double quotes, which apt cannot escape.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/["\u0000-\u001f]/.test(dir)) throw new Error(`the root ${JSON.stringify(dir)} cannot be given to apt`);
  const status = join(dir, "var/lib/dpkg/status");
  const configDir = await mkdtemp(join(tmpdir(), "patchpilot-apt-"));
  const configFile = join(configDir, "apt.conf");
  await writeFile(
    configFile,
    `// The PatchPilot agent's apt configuration for the root ${dir}, for one job.\n` +
      `Dir "${dir}/";\nDir::State::status "${status}";\n`,
    { mode: 0o600 },
  );
  return {
    options: [
      "-o",
      `Dir=${dir}/`,
      "-o",
      `Dir::State::status=${status}`,
      "-o",
      `Dir::Bin::dpkg=${dpkgProgram}`,
      "-o",
      `DPkg::Options::=--root=${dir}`,
      "-o",
      `DPkg::Options::=--log=${join(dir, "var/log/dpkg.log")}`,
    ],
    env: { ...NONINTERACTIVE, APT_CONFIG: configFile },
    dispose: () => rm(configDir, { recursive: true, force: true }),
  };
}
