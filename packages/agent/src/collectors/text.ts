/** The first line of a tool's error output, short enough for a warning. */
export function firstLine(text: string): string {
  return text.trim().split("\n")[0]?.slice(0, 200) ?? "";
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
