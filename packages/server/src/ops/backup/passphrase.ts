import { readFile, stat } from "node:fs/promises";
import type { Config } from "../../config/config.js";
import { BackupError } from "./backup-file.js";

/**
 * The backup passphrase: from the service's EnvironmentFile (PATCHPILOT_BACKUP_PASSPHRASE) or from
 * a key file the customer holds (PATCHPILOT_BACKUP_PASSPHRASE_FILE, first line). Never from the
 * database, which is what it protects. A key file others can read is refused.
 */
export async function backupPassphrase(config: Config): Promise<string> {
  if (config.backupPassphrase) return checked(config.backupPassphrase.reveal());
  if (config.backupPassphraseFile) {
    const file = config.backupPassphraseFile;
    const info = await stat(file).catch(() => null);
    if (!info)
      throw new BackupError("backup.no_passphrase", `the backup passphrase file ${file} does not exist`);
    if ((info.mode & 0o077) !== 0) {
      throw new BackupError(
        "backup.no_passphrase",
        `${file} is readable by others (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${JSON.stringify(file)}`,
      );
    }
    return checked((await readFile(file, "utf8")).split(/\r?\n/)[0] ?? "");
  }
  throw new BackupError(
    "backup.no_passphrase",
    "no backup passphrase: set PATCHPILOT_BACKUP_PASSPHRASE in the service's EnvironmentFile, or " +
      "PATCHPILOT_BACKUP_PASSPHRASE_FILE to a file (mode 0600) holding it",
  );
}

function checked(passphrase: string): string {
  if (passphrase.length < 12) {
    throw new BackupError("backup.no_passphrase", "the backup passphrase must be at least 12 characters");
  }
  return passphrase;
}
