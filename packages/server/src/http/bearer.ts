/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | string[] | undefined): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return null;
  const match = /^Bearer ([A-Za-z0-9_]{1,100})$/.exec(value);
  return match?.[1] ?? null;
}
