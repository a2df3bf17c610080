import {
  entryLine,
  INVENTORY_LIMITS,
  type Inventory,
  type InventoryEntry,
  inventoryHash,
  toWireInventory,
} from "@patchpilot/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, createTestOrg, startTestApp, type TestApp, type TestOrg } from "../testing/app.js";
import {
  callAsAgent,
  debPackage,
  enrollTestDevice,
  sampleInventory,
  type TestDevice,
} from "../testing/devices.js";

let t: TestApp;
let org: TestOrg;
beforeAll(async () => {
  t = await startTestApp();
  org = await createTestOrg(t.db, "Inventory Ltd");
});
afterAll(() => t.close());

/** A full inventory as the agent sends it: entries as lines. */
function upload(device: TestDevice, inventory: Inventory, reportId: string = crypto.randomUUID()) {
  return uploadRaw(device, { reportId, inventory: toWireInventory(inventory) });
}

function uploadRaw(device: TestDevice, body: unknown) {
  return callAsAgent(t.app, {
    method: "PUT",
    url: `/api/v1/agent/devices/${device.deviceId}/inventory`,
    token: device.token,
    body,
  });
}

function changes(
  device: TestDevice,
  from: Inventory,
  to: Inventory,
  overrides: Record<string, unknown> = {},
) {
  const key = (e: unknown) => JSON.stringify(e);
  const fromKeys = new Set(from.packages.map(key));
  const toKeys = new Set(to.packages.map(key));
  return callAsAgent(t.app, {
    method: "POST",
    url: `/api/v1/agent/devices/${device.deviceId}/inventory/changes`,
    token: device.token,
    body: {
      reportId: crypto.randomUUID(),
      baseHash: inventoryHash(from),
      inventoryHash: inventoryHash(to),
      packages: {
        added: to.packages.filter((p) => !fromKeys.has(key(p))).map(entryLine),
        removed: from.packages.filter((p) => !toKeys.has(key(p))).map(entryLine),
      },
      updates: {
        added: to.updates.filter((u) => !from.updates.some((f) => key(f) === key(u))),
        removed: [],
      },
      ...overrides,
    },
  });
}

async function inventoryOf(device: TestDevice): Promise<{ name: string; version: string; arch: string }[]> {
  const items: { name: string; version: string; arch: string }[] = [];
  let cursor: string | null = null;
  do {
    const response = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/devices/${device.deviceId}/inventory?limit=7${cursor ? `&cursor=${cursor}` : ""}`,
      as: org.owner,
    });
    expect(response.statusCode).toBe(200);
    items.push(...response.json().items);
    cursor = response.json().nextCursor;
  } while (cursor);
  return items.map(({ name, version, arch }) => ({ name, version, arch }));
}

const sorted = (entries: { name: string; version: string; arch?: string }[]) =>
  entries.map((e) => `${e.name} ${e.arch ?? ""} ${e.version}`).sort();

describe("inventory", () => {
  it("stores a full inventory and reads it back page by page, exactly as sent", async () => {
    const device = await enrollTestDevice(t.db, org.organizationId);
    const inventory = sampleInventory(25, "full");
    expect((await upload(device, inventory)).statusCode).toBe(200);
    expect(sorted(await inventoryOf(device))).toEqual(sorted(inventory.packages));
    const updates = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/devices/${device.deviceId}/updates`,
      as: org.owner,
    });
    expect(updates.json().items).toEqual(inventory.updates);
    const view = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/devices/${device.deviceId}`,
      as: org.owner,
    });
    expect(view.json().inventory).toMatchObject({ packageCount: 25, updateCount: 1, securityUpdateCount: 1 });
  });

  it("shares package sets between devices built from the same image", async () => {
    const image = sampleInventory(200, "image");
    const sets = async () =>
      (await t.db.owner.query<{ n: number }>("SELECT count(*)::int AS n FROM package_sets"))[0]?.n ?? 0;
    const first = await enrollTestDevice(t.db, org.organizationId);
    await upload(first, image);
    const before = await sets();
    for (let i = 0; i < 3; i++) {
      const device = await enrollTestDevice(t.db, org.organizationId);
      const own = { ...image, packages: [...image.packages.slice(i), debPackage(`role-${i}`, "1.0")] };
      expect((await upload(device, own)).statusCode).toBe(200);
      expect(sorted(await inventoryOf(device))).toEqual(sorted(own.packages));
    }
    expect(await sets()).toBe(before);
  });

  it("finds the image two machines share and makes it the base of the next ones", async () => {
    const image = sampleInventory(300, "core");
    const machine = (role: string) => ({
      ...image,
      packages: [...image.packages, ...sampleInventory(60, role).packages],
    });
    const sets = async () =>
      (await t.db.owner.query<{ n: number }>("SELECT count(*)::int AS n FROM package_sets"))[0]?.n ?? 0;
    const start = await sets();
    for (const role of ["web", "db"]) {
      const device = await enrollTestDevice(t.db, org.organizationId);
      await upload(device, machine(role));
    }
    // The first machine's set, then the core both share.
    expect(await sets()).toBe(start + 2);
    for (const role of ["cache", "mail", "build"]) {
      const device = await enrollTestDevice(t.db, org.organizationId);
      await upload(device, machine(role));
      expect(sorted(await inventoryOf(device))).toEqual(sorted(machine(role).packages));
    }
    expect(await sets()).toBe(start + 2);
  });

  it("applies changes since the stored inventory and describes them as a device event", async () => {
    const device = await enrollTestDevice(t.db, org.organizationId);
    const before = sampleInventory(20, "chg");
    await upload(device, before);
    const after: Inventory = {
      packages: [
        ...before.packages.filter((p) => p.name !== "chg-0003" && p.name !== "chg-0004"),
        debPackage("chg-0003", "9.9.9-1", { sourceName: "chg-src-3" }),
        debPackage("brand-new", "1.0-1"),
      ],
      updates: before.updates,
    };
    const response = await changes(device, before, after);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ inventoryHash: inventoryHash(after), packageCount: 20 });
    expect(sorted(await inventoryOf(device))).toEqual(sorted(after.packages));
    const [event] = await t.db.owner.query<{ details: Record<string, unknown> }>(
      "SELECT details FROM device_events WHERE device_id = $1 AND event_type = 'inventory.changed' ORDER BY seq DESC LIMIT 1",
      [device.deviceId],
    );
    expect(event?.details).toMatchObject({
      addedCount: 2,
      removedCount: 2,
      changed: [{ name: "chg-0003", arch: "amd64", from: "1.3.0-1", to: "9.9.9-1" }],
      added: ["brand-new:amd64 1.0-1"],
      removed: ["chg-0004:amd64 1.4.0-1"],
    });
  });

  it("refuses changes from a base the server does not hold, or that do not add up, and changes nothing", async () => {
    const device = await enrollTestDevice(t.db, org.organizationId);
    const base = sampleInventory(10, "mm");
    await upload(device, base);
    const next = { ...base, packages: [...base.packages, debPackage("extra", "1")] };
    const stale = await changes(device, sampleInventory(3, "other"), next);
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error.code).toBe("inventory.base_mismatch");
    const wrongHash = await changes(device, base, next, { inventoryHash: "a".repeat(64) });
    expect(wrongHash.json().error.code).toBe("inventory.hash_mismatch");
    // Removing something the device never had does not add up either.
    const phantom = { packages: base.packages, updates: base.updates };
    const removeMissing = await changes(
      device,
      { ...base, packages: [...base.packages, debPackage("ghost", "1")] },
      phantom,
      {
        baseHash: inventoryHash(base),
      },
    );
    expect(removeMissing.statusCode).toBe(409);
    expect(sorted(await inventoryOf(device))).toEqual(sorted(base.packages));
  });

  it("applies a report once: the same report id sent again changes nothing", async () => {
    const device = await enrollTestDevice(t.db, org.organizationId);
    const reportId = crypto.randomUUID();
    const first = await upload(device, sampleInventory(5, "once"), reportId);
    const again = await upload(device, sampleInventory(9, "different"), reportId);
    expect(first.json().duplicate).toBe(false);
    expect(again.json()).toEqual({ ...first.json(), duplicate: true });
    expect(sorted(await inventoryOf(device))).toEqual(sorted(sampleInventory(5, "once").packages));
  });

  it("writes nothing for an unchanged full inventory", async () => {
    const device = await enrollTestDevice(t.db, org.organizationId);
    const inventory = sampleInventory(8, "same");
    await upload(device, inventory);
    const count = async () =>
      (
        await t.db.owner.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM device_events WHERE device_id = $1",
          [device.deviceId],
        )
      )[0]?.n;
    const events = await count();
    const again = await upload(device, {
      packages: [...inventory.packages].reverse(),
      updates: inventory.updates,
    });
    expect(again.statusCode).toBe(200);
    expect(await count()).toBe(events);
  });
});

describe("inventory bad input", () => {
  let device: TestDevice;
  beforeAll(async () => {
    device = await enrollTestDevice(t.db, org.organizationId);
  });

  it("refuses a duplicate entry, naming it", async () => {
    const inventory = sampleInventory(4, "dup");
    inventory.packages.push({ ...(inventory.packages[2] as InventoryEntry) });
    const response = await upload(device, inventory);
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({
      code: "inventory.duplicate_entry",
      field: "body/inventory/packages/4",
    });
  });

  it("refuses more packages than the documented limit", async () => {
    const packages = Array.from({ length: INVENTORY_LIMITS.maxPackages + 1 }, (_, i) =>
      debPackage(`p${i}`, "1"),
    );
    const response = await upload(device, { packages, updates: [] });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.field).toBe("body/inventory/packages");
  });

  it("refuses absurd field lengths, control characters, unknown fields and wrong types", async () => {
    const bad: InventoryEntry[] = [
      debPackage("x".repeat(300), "1"),
      debPackage("ok", "1".repeat(300)),
      debPackage("evil\nname", "1"),
      { ...debPackage("ok", "1"), release: "no release" },
    ];
    for (const entry of bad) {
      const response = await upload(device, { packages: [entry], updates: [] });
      expect(response.statusCode).toBe(400);
      expect(response.json().error.field).toBe("body/inventory/packages/0");
    }
    // A line with a field too many, or an unknown kind, is not an entry either.
    for (const line of [
      "p\tpackage\tdpkg\tdebian:12\tx\t1\t\t\t\t\textra",
      "p\tgadget\tdpkg\tdebian:12\tx\t1\t\t\t\t",
    ]) {
      const response = await uploadRaw(device, {
        reportId: crypto.randomUUID(),
        inventory: { packages: [line], updates: [] },
      });
      expect(response.statusCode).toBe(400);
      expect(response.json().error.field).toBe("body/inventory/packages/0");
    }
    const unknown = await uploadRaw(device, {
      reportId: crypto.randomUUID(),
      inventory: { packages: [], updates: [] },
      extra: 1,
    });
    expect(unknown.json().error.field).toBe("body/extra");
    const wrongType = await uploadRaw(device, {
      reportId: crypto.randomUUID(),
      inventory: { packages: "all", updates: [] },
    });
    expect(wrongType.statusCode).toBe(400);
  });

  it("refuses a body that is not UTF-8", async () => {
    const json = Buffer.from(
      `{"reportId":"${crypto.randomUUID()}","inventory":{"packages":["p\\tpackage\\tdpkg\\tdebian:12\\tcaf`,
    );
    const body = Buffer.concat([
      json,
      Buffer.from([0xc3, 0x28]),
      Buffer.from(`\\t1\\t\\t\\t\\t"],"updates":[]}}`),
    ]);
    const response = await t.app.inject({
      method: "PUT",
      url: `/api/v1/agent/devices/${device.deviceId}/inventory`,
      headers: { authorization: `Bearer ${device.token}`, "content-type": "application/json" },
      payload: body,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe("request.invalid_encoding");
  });

  it("stores nothing from refused uploads", async () => {
    const rows = await t.db.owner.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM device_inventories WHERE device_id = $1",
      [device.deviceId],
    );
    expect(rows[0]?.n).toBe(0);
  });
});

describe("installations", () => {
  it("finds the devices that have a package below a version, in the package's own version order", async () => {
    const a = await enrollTestDevice(t.db, org.organizationId, { hostname: "inst-a.example.test" });
    const b = await enrollTestDevice(t.db, org.organizationId, { hostname: "inst-b.example.test" });
    const c = await enrollTestDevice(t.db, org.organizationId, { hostname: "inst-c.example.test" });
    const base = sampleInventory(10, "inst");
    const withOpenssl = (version: string) => ({
      ...base,
      packages: [...base.packages, debPackage("openssl", version, { sourceName: "openssl" })],
    });
    await upload(a, withOpenssl("3.0.11-1~deb12u2"));
    await upload(b, withOpenssl("3.0.11-1"));
    await upload(c, withOpenssl("3.0.13-1~deb12u1"));
    const query = async (below: string) => {
      const response = await call(t.app, {
        method: "GET",
        url: `/api/v1/orgs/${org.organizationId}/installations?name=openssl&ecosystem=dpkg&below=${encodeURIComponent(below)}`,
        as: org.owner,
      });
      expect(response.statusCode).toBe(200);
      return response
        .json()
        .items.map((i: { hostname: string; version: string }) => `${i.hostname} ${i.version}`);
    };
    // "~" sorts before everything, so 3.0.11-1~deb12u2 is below 3.0.11-1.
    expect(await query("3.0.11-1")).toEqual(["inst-a.example.test 3.0.11-1~deb12u2"]);
    expect(await query("3.0.13-1~deb12u1")).toEqual([
      "inst-a.example.test 3.0.11-1~deb12u2",
      "inst-b.example.test 3.0.11-1",
    ]);
    const bad = await call(t.app, {
      method: "GET",
      url: `/api/v1/orgs/${org.organizationId}/installations?name=openssl&ecosystem=dpkg&below=${encodeURIComponent("1:")}`,
      as: org.owner,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe("querystring/below");
  });
});
