/** One line per event on standard error, which systemd, launchd and the Windows service host keep. */
export type Log = (level: "info" | "warn" | "error", message: string) => void;

export const stderrLog: Log = (level, message) => {
  process.stderr.write(`${new Date().toISOString()} ${level.padEnd(5)} ${message}\n`);
};
