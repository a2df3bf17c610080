import { request } from "node:https";

/**
 * A fetch over node:https that trusts one CA (a test peer's), follows no redirects and keeps every
 * Set-Cookie header: what the server uses to reach a test identity provider, and what the tests'
 * "browser" uses to walk through it.
 */
export function fetchTrusting(ca: string): typeof fetch {
  return (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : input.toString());
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const raw = init?.body;
    const body =
      raw === undefined || raw === null
        ? null
        : typeof raw === "string"
          ? raw
          : raw instanceof URLSearchParams
            ? raw.toString()
            : raw instanceof Uint8Array
              ? Buffer.from(raw)
              : null;
    if (raw instanceof URLSearchParams && !headers["content-type"]) {
      headers["content-type"] = "application/x-www-form-urlencoded;charset=UTF-8";
    }
    return new Promise<Response>((resolve, reject) => {
      const req = request(url, { method: init?.method ?? "GET", headers, ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const out = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (Array.isArray(value)) for (const v of value) out.append(name, v);
            else if (value !== undefined) out.set(name, value);
          }
          const status = res.statusCode ?? 500;
          const nullBody = [101, 204, 205, 304].includes(status);
          resolve(new Response(nullBody ? null : Buffer.concat(chunks), { status, headers: out }));
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      init?.signal?.addEventListener("abort", () => req.destroy(new Error("aborted")));
      if (body !== null) req.write(body);
      req.end();
    });
  };
}
