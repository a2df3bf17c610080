import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkHook, runHook } from "./hooks.js";

const posix = process.platform !== "win32";

describe.skipIf(!posix)("hooks", () => {
  let base: string;
  let dir: string;

  const hookFile = async (name: string, script: string, mode = 0o755, inDir = dir) => {
    await writeFile(join(inDir, name), script);
    await chmod(join(inDir, name), mode);
  };

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), "patchpilot-hooktest-"));
    dir = join(base, "hooks");
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755);
    await hookFile("echo-args", '#!/bin/sh\nfor a in "$@"; do printf "<%s>\\n" "$a"; done\n');
    await hookFile("show-env", "#!/bin/sh\nenv | sort\n");
    await hookFile("sleeps", "#!/bin/sh\necho started\nsleep 30 &\nsleep 30\n");
    await hookFile(
      "chatty",
      "#!/bin/sh\ni=0\nwhile [ $i -lt 3000 ]; do echo line $i; i=$((i+1)); done\nexit 2\n",
    );
    await hookFile("group-writable", "#!/bin/sh\n", 0o775);
    await hookFile("not-executable", "#!/bin/sh\n", 0o644);
    await symlink("/bin/true", join(dir, "a-link"));
    await mkdir(join(dir, "a-directory"));
  });
  afterAll(async () => {
    if (base) await rm(base, { recursive: true, force: true });
  });

  // Security regression: hook arguments come from the server. They reach the hook as separate argv
  // elements and are never read by a shell, so `;`, `$( )` and quotes do nothing.
  it("passes arguments verbatim, without a shell", async () => {
    const marker = join(base, "pwned");
    const args = [`; touch ${marker}`, "$(id)", "a b", "'quoted'", "`uname`"];
    const outcome = await runHook({ hook: "echo-args", args, timeoutSeconds: 10 }, { hooksDir: dir });
    expect(outcome).toMatchObject({ status: "succeeded", exitCode: 0 });
    expect(outcome.log).toContain(args.map((a) => `<${a}>`).join("\n"));
    await expect(readFile(marker)).rejects.toThrow(/ENOENT/);
  });

  it("gives the hook a minimal environment: the job's variables, never the agent's", async () => {
    process.env.PATCHPILOT_ENROLLMENT_TOKEN = "ppk_secret_for_this_test";
    try {
      const outcome = await runHook(
        { hook: "show-env", args: [], timeoutSeconds: 10 },
        { hooksDir: dir, env: { PATCHPILOT_HOOK_STEP: "pre-update" } },
      );
      expect(outcome.log).toContain("PATCHPILOT_HOOK_STEP=pre-update");
      expect(outcome.log).toContain("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
      expect(outcome.log).not.toContain("ppk_secret");
    } finally {
      delete process.env.PATCHPILOT_ENROLLMENT_TOKEN;
    }
  });

  it("kills the hook and what it started at the timeout", async () => {
    const started = Date.now();
    const outcome = await runHook({ hook: "sleeps", args: [], timeoutSeconds: 1 }, { hooksDir: dir });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(outcome).toMatchObject({ status: "failed", exitCode: null });
    expect(outcome.log).toMatch(/started\n[\s\S]*timed out after 1 s; killed/);
  });

  it("keeps only the end of a long output, and reports the exit status", async () => {
    const outcome = await runHook({ hook: "chatty", args: [], timeoutSeconds: 10 }, { hooksDir: dir });
    expect(outcome).toMatchObject({ status: "failed", exitCode: 2 });
    expect(Buffer.byteLength(outcome.log)).toBeLessThanOrEqual(4096);
    expect(outcome.log).toContain("line 2999");
    expect(outcome.log).not.toContain("line 1\n");
    expect(outcome.log).toMatch(/exited with 2 after/);
  });

  it.each([
    ["a missing hook", "no-such-hook", /no hook no-such-hook in/],
    ["a group-writable hook", "group-writable", /group- or world-writable/],
    ["a hook that is not executable", "not-executable", /not executable/],
    ["a symbolic link", "a-link", /symbolic link/],
    ["a directory", "a-directory", /not a regular file/],
    ["a name with a path in it", "../hooks/echo-args", /invalid hook name/],
  ])("refuses %s", async (_label, name, reason) => {
    const checked = await checkHook(dir, name);
    expect(checked).toEqual({ refused: expect.stringMatching(reason) });
    const outcome = await runHook({ hook: name, args: [], timeoutSeconds: 5 }, { hooksDir: dir });
    expect(outcome).toMatchObject({ status: "failed", exitCode: null });
    expect(outcome.log).toMatch(/^hook refused: /);
  });

  it("refuses every hook in a directory others can write to", async () => {
    const open = join(base, "open");
    await mkdir(open);
    await chmod(open, 0o777);
    await hookFile("fine", "#!/bin/sh\n", 0o755, open);
    expect(await checkHook(open, "fine")).toEqual({
      refused: expect.stringMatching(/directory .* group- or world-writable/),
    });
    expect(await checkHook(join(base, "missing"), "fine")).toEqual({
      refused: expect.stringMatching(/cannot be used/),
    });
  });
});
