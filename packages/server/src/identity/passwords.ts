import bcrypt from "bcrypt";
import { AppError } from "../http/errors.js";

const COST = 10;
const MIN_LENGTH = 12;
// bcrypt reads at most 72 bytes; a longer password would be silently cut, so it is refused.
const MAX_BYTES = 72;

export function assertPasswordAcceptable(password: string, field = "password"): void {
  if ([...password].length < MIN_LENGTH) throw new AppError("auth.password_too_weak", { field });
  if (Buffer.byteLength(password, "utf8") > MAX_BYTES)
    throw new AppError("auth.password_too_long", { field });
}

export function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(password, COST);
}

// Compared against when the account does not exist, so that answering takes as long either way.
const UNKNOWN_ACCOUNT_HASH = bcrypt.hashSync("patchpilot-no-such-account", COST);

export async function verifyPassword(password: string, hash: string | null): Promise<boolean> {
  const ok = await bcrypt.compare(password, hash ?? UNKNOWN_ACCOUNT_HASH);
  return ok && hash !== null;
}
