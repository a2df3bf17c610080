/** The device token no longer works: the device was retired or its token revoked. */
export class RevokedError extends Error {
  override name = "RevokedError";
}
