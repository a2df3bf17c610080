// The console's only way to the server: JSON to /api/v1, with the CSRF token once signed in.
export async function api(method, path, body, csrfToken) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (csrfToken) headers["x-csrf-token"] = csrfToken;
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const message = data?.error?.message ?? `The server answered ${response.status}.`;
    throw new Error(message);
  }
  return data;
}

export function show(text, isError = false) {
  const el = document.getElementById("message");
  el.textContent = text;
  el.className = isError ? "error" : "";
}
