import { describe, expect, it } from "vitest";
import { CommandOutputLimitError, runCommand } from "./run-command.js";

const node = process.execPath;
const options = { timeoutMs: 10_000, maxOutputBytes: 1024 * 1024 };

describe("runCommand", () => {
  it("returns exit code, stdout and stderr", async () => {
    const result = await runCommand(
      node,
      ["-e", "process.stdout.write('out'); process.stderr.write('err'); process.exit(3)"],
      options,
    );
    expect(result).toEqual({ code: 3, stdout: "out", stderr: "err", timedOut: false });
  });

  // Stops command injection: an argument reaches the program byte for byte, never through a shell.
  it("passes each argument literally, with no shell in between", async () => {
    const hostile = "$(touch /tmp/pwned); `id` | cat > x && echo 'q\" *";
    const result = await runCommand(node, ["-e", "process.stdout.write(process.argv[1])", hostile], options);
    expect(result.stdout).toBe(hostile);
  });

  it("always sets LC_ALL=C so tools print their untranslated format", async () => {
    const script = "process.stdout.write(process.env.LC_ALL + ' ' + process.env.EXTRA)";
    const result = await runCommand(node, ["-e", script], {
      ...options,
      env: { LC_ALL: "de_DE.UTF-8", EXTRA: "yes" },
    });
    expect(result.stdout).toBe("C yes");
  });

  it("kills a command at the timeout and says so", async () => {
    const started = Date.now();
    const result = await runCommand(node, ["-e", "setTimeout(() => {}, 30000)"], {
      ...options,
      timeoutMs: 300,
    });
    expect(result.timedOut).toBe(true);
    expect(result.code).toBeNull();
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("stops a command whose output passes the limit instead of returning a cut-off list", async () => {
    const flood = "process.stdout.write('x'.repeat(200000))";
    await expect(
      runCommand(node, ["-e", flood], { ...options, maxOutputBytes: 1000 }),
    ).rejects.toBeInstanceOf(CommandOutputLimitError);
  });

  it("rejects when the program does not exist", async () => {
    await expect(runCommand("/nonexistent/patchpilot-no-such-tool", [], options)).rejects.toMatchObject({
      code: "ENOENT",
    });
  });

  it("keeps multi-byte characters split across chunks intact", async () => {
    const script =
      "const b = Buffer.from('é'.repeat(70000)); process.stdout.write(b.subarray(0, 1)); setTimeout(() => process.stdout.write(b.subarray(1)), 50)";
    const result = await runCommand(node, ["-e", script], options);
    expect(result.stdout).toBe("é".repeat(70000));
  });
});
