import { request } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestOrg } from "../testing/app.js";
import { checkInBody, enrollTestDevice, type TestDevice } from "../testing/devices.js";
import { type RealServer, startRealServer } from "../testing/real-server.js";

// The hot path answers the check-in straight off the HTTPS server. It must be indistinguishable
// from the framework: same headers, same validation, same error shape, same refusals.
let server: RealServer;
let device: TestDevice;

beforeAll(async () => {
  server = await startRealServer();
  const org = await createTestOrg(server.server.db, "Hot Path Ltd");
  device = await enrollTestDevice(server.server.db, org.organizationId, { hostname: "hot.example.test" });
});
afterAll(() => server?.destroy());

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: { error?: { code: string; field?: string; requestId: string } } & Record<string, unknown>;
}

function post(path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      {
        method: "POST",
        ca: server.caPem,
        agent: false,
        headers: {
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
          ...headers,
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(text) }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const checkInPath = () => `/api/v1/agent/devices/${device.deviceId}/check-in`;
const auth = () => ({ authorization: `Bearer ${device.token}` });
const body = () => JSON.stringify(checkInBody(null, { hostname: device.hostname }));

/** Headers that must be the same whichever path answered (ids and dates aside). */
function stableHeaders(headers: Answer["headers"]): Record<string, unknown> {
  const {
    date: _d,
    "x-request-id": _r,
    "content-length": _l,
    connection: _c,
    "keep-alive": _k,
    ...rest
  } = headers;
  return rest;
}

describe("the hot path", () => {
  it("answers a known device exactly as the framework answered its first check-in", async () => {
    const first = await post(checkInPath(), body(), auth());
    expect(first.status).toBe(200);
    expect(server.server.app.devices.sessions.cached(device.token, device.deviceId)).not.toBeNull();
    const taken = server.server.app.hotPathStats?.taken ?? 0;
    const hot = await post(checkInPath(), body(), auth());
    expect(hot.status).toBe(200);
    expect(server.server.app.hotPathStats?.taken).toBe(taken + 1);
    expect(Object.keys(hot.json).sort()).toEqual(Object.keys(first.json).sort());
    expect(stableHeaders(hot.headers)).toEqual(stableHeaders(first.headers));
    expect(hot.headers["strict-transport-security"]).toMatch(/max-age=31536000/);
    expect(hot.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("refuses bad bodies in the API's error shape, naming the field", async () => {
    const cases: [string | Buffer, string, string | undefined][] = [
      ["{", "request.malformed_json", "body"],
      [Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]), "request.invalid_encoding", "body"],
      [JSON.stringify({ ...checkInBody(null), extra: 1 }), "request.invalid", "body/extra"],
      [
        JSON.stringify({ ...checkInBody(null), inventoryHash: "zz" }),
        "request.invalid",
        "body/inventoryHash",
      ],
      [
        JSON.stringify(checkInBody(null, { hostname: "nul\u0000host" })),
        "request.invalid",
        "body/facts/hostname",
      ],
      ['{"__proto__":{"x":1}}', "request.malformed_json", "body"],
    ];
    for (const [payload, code, field] of cases) {
      const taken = server.server.app.hotPathStats?.taken ?? 0;
      const answer = await post(checkInPath(), payload, auth());
      expect(server.server.app.hotPathStats?.taken, "answered by the hot path").toBe(taken + 1);
      expect(answer.status, String(payload)).toBe(400);
      expect(answer.json.error).toMatchObject({ code, ...(field ? { field } : {}) });
      expect(answer.headers["x-request-id"]).toBe(answer.json.error?.requestId);
    }
  });

  it("leaves what it does not take to the framework: other devices, unknown tokens, large bodies", async () => {
    const other = await enrollTestDevice(server.server.db, device.organizationId);
    const wrong = await post(`/api/v1/agent/devices/${other.deviceId}/check-in`, body(), auth());
    expect(wrong.status).toBe(403);
    expect(wrong.json.error?.code).toBe("agent.wrong_device");
    const unknown = await post(checkInPath(), body(), { authorization: "Bearer ppdt_nonsense" });
    expect(unknown.status).toBe(401);
    const large = await post(checkInPath(), `${" ".repeat(70_000)}${body()}`, auth());
    expect(large.status).toBe(413);
  });
});
