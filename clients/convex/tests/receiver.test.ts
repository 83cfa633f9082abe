// The receiver's guarantees, through its HTTP route and queries under
// convex-test: signature (401, nothing applied), dedupe on webhook-id,
// apply-only-newer, and the product queries' order.
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import {
  api,
  component,
  deliver,
  historyOf,
  newReceiver,
  SECRET,
  update,
  webhookId,
  type Receiver,
} from "./harness";

let t: Receiver;

beforeEach(() => {
  vi.stubEnv("RTGW_PROJECTION_SECRET", SECRET);
  t = newReceiver();
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

async function nothingStored(job_id: string) {
  expect(await t.query(api.rtgw.job, { tenant_id: "tenant-a", job_id })).toBeNull();
  expect(await historyOf(t, job_id)).toEqual([]);
}

describe("delivery order", () => {
  test("in-order updates are applied and the job shows the newest", async () => {
    for (const [v, state] of [
      [1, "submitted"],
      [2, "running"],
      [3, "completed"],
    ] as const) {
      const r = await deliver(t, update("job-1", v, state));
      expect(r).toEqual({ status: 200, body: { ok: true, outcome: "applied", stored_version: v } });
    }
    const job = await t.query(api.rtgw.job, { tenant_id: "tenant-a", job_id: "job-1" });
    expect(job).toMatchObject({
      tenant_id: "tenant-a",
      workspace_id: "ws-1",
      job_id: "job-1",
      submission_id: "sub-job-1",
      status: "finished",
      state: "completed",
      projection_version: 3,
      trace_id: "trace-job-1-3",
      result_ref: { output_uri: "s3://bucket/job-1/out" },
    });
    expect(job).not.toHaveProperty("_id");
    expect(await historyOf(t, "job-1")).toEqual([
      [1, "submitted"],
      [2, "running"],
      [3, "completed"],
    ]);
  });

  test("out of order: an older version after a newer one is acknowledged, not applied", async () => {
    expect((await deliver(t, update("job-1", 2, "running"))).body.outcome).toBe("applied");
    const late = await deliver(t, update("job-1", 1, "submitted"));
    expect(late).toEqual({ status: 200, body: { ok: true, outcome: "stale", stored_version: 2 } });
    expect((await deliver(t, update("job-1", 3, "failed"))).body.outcome).toBe("applied");
    const job = await t.query(api.rtgw.job, { tenant_id: "tenant-a", job_id: "job-1" });
    expect(job).toMatchObject({ projection_version: 3, status: "failed", state: "failed" });
    expect(job.error).toEqual({ code: "exit_code", message: "exit 3", exit_code: 3 });
    expect(await historyOf(t, "job-1")).toEqual([
      [2, "running"],
      [3, "failed"],
    ]);
  });

  test("an equal version under another webhook-id (a replay) is not applied", async () => {
    await deliver(t, update("job-1", 1, "submitted"));
    await deliver(t, update("job-1", 2, "running"));
    const replay = { ...update("job-1", 2, "running"), status: "failed", state: "failed" };
    const r = await deliver(t, replay, { id: "pu_someone_else" });
    expect(r.body).toEqual({ ok: true, outcome: "stale", stored_version: 2 });
    expect(await t.query(api.rtgw.job, { tenant_id: "tenant-a", job_id: "job-1" })).toMatchObject({
      state: "running",
    });
  });

  test("jobs of other tenants with the same job_id are separate", async () => {
    await deliver(t, update("job-1", 2, "running", { tenant_id: "tenant-a" }));
    const r = await deliver(t, update("job-1", 1, "submitted", { tenant_id: "tenant-b" }));
    expect(r.body.outcome).toBe("applied");
    expect(await historyOf(t, "job-1", "tenant-b")).toEqual([[1, "submitted"]]);
    expect(await historyOf(t, "job-1", "tenant-a")).toEqual([[2, "running"]]);
  });
});

describe("duplicates and retries", () => {
  test("the same delivery twice is applied once", async () => {
    const body = update("job-1", 1, "submitted");
    expect((await deliver(t, body)).body.outcome).toBe("applied");
    const again = await deliver(t, body);
    expect(again).toEqual({ status: 200, body: { ok: true, outcome: "duplicate", stored_version: 1 } });
    expect(await historyOf(t, "job-1")).toEqual([[1, "submitted"]]);
  });

  test("a retry (same webhook-id, new timestamp and signature) after a lost answer is a duplicate", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-02-18T00:00:00Z"));
    const body = update("job-1", 1, "submitted");
    expect((await deliver(t, body, { at: new Date() })).body.outcome).toBe("applied");
    await deliver(t, update("job-1", 2, "running"));
    vi.setSystemTime(new Date("2026-02-18T00:01:00Z")); // the relay's backoff passed
    const retry = await deliver(t, body, { at: new Date() });
    expect(retry.body).toEqual({ ok: true, outcome: "duplicate", stored_version: 2 });
    expect(await historyOf(t, "job-1")).toEqual([
      [1, "submitted"],
      [2, "running"],
    ]);
  });

  test("after old webhook-ids are pruned, a redelivery meets the version check", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-02-18T00:00:00Z"));
    await deliver(t, update("job-1", 1, "submitted"));
    await deliver(t, update("job-1", 2, "running"));
    vi.setSystemTime(new Date("2026-03-01T00:00:00Z"));
    const pruned = await t.mutation(component.projections.pruneDeliveries, {
      before: Date.parse("2026-02-19T00:00:00Z"),
    });
    expect(pruned).toBe(2);
    const r = await deliver(t, update("job-1", 1, "submitted"));
    expect(r.body).toEqual({ ok: true, outcome: "stale", stored_version: 2 });
    expect(await historyOf(t, "job-1")).toEqual([
      [1, "submitted"],
      [2, "running"],
    ]);
  });
});

describe("signature", () => {
  test("a wrong secret is 401 and nothing is applied", async () => {
    const r = await deliver(t, update("job-1", 1, "submitted"), {
      secret: "whsec_" + btoa("another-secret-of-32-bytes......"),
    });
    expect(r.status).toBe(401);
    expect(r.body.error).toMatch(/signature rejected/);
    await nothingStored("job-1");
  });

  test("missing signature headers are 401", async () => {
    const body = update("job-1", 1, "submitted");
    for (const drop of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
      const headers: Record<string, string> = {
        "webhook-id": webhookId(body),
        "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
        "webhook-signature": "v1,AAAA",
      };
      delete headers[drop];
      expect((await deliver(t, body, { headers })).status).toBe(401);
    }
    await nothingStored("job-1");
  });

  test("a body changed after signing is 401", async () => {
    const body = update("job-1", 1, "submitted");
    const signedFor = JSON.stringify(body);
    const id = webhookId(body);
    const at = new Date();
    const { Webhook } = await import("standardwebhooks");
    const signature = new Webhook(SECRET).sign(id, at, signedFor);
    const tampered = signedFor.replace('"queued"', '"running"');
    const r = await deliver(t, body, {
      raw: tampered,
      headers: {
        "webhook-id": id,
        "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
        "webhook-signature": signature,
      },
    });
    expect(r.status).toBe(401);
    await nothingStored("job-1");
  });

  test("a timestamp more than 5 minutes off is 401 (a captured delivery replayed later)", async () => {
    const old = new Date(Date.now() - 6 * 60 * 1000);
    expect((await deliver(t, update("job-1", 1, "submitted"), { at: old })).status).toBe(401);
    const future = new Date(Date.now() + 6 * 60 * 1000);
    expect((await deliver(t, update("job-1", 1, "submitted"), { at: future })).status).toBe(401);
    await nothingStored("job-1");
  });

  test("a secret that is not whsec_ is used as the key bytes, as the gateway does", async () => {
    vi.stubEnv("RTGW_PROJECTION_SECRET", "plain-secret-0123456789");
    const body = update("job-1", 1, "submitted");
    expect((await deliver(t, body)).status).toBe(401); // signed with the whsec_ key
    const { Webhook } = await import("standardwebhooks");
    const raw = new Webhook("plain-secret-0123456789", { format: "raw" });
    const at = new Date();
    const payload = JSON.stringify(body);
    const r = await deliver(t, body, {
      headers: {
        "webhook-id": webhookId(body),
        "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
        "webhook-signature": raw.sign(webhookId(body), at, payload),
      },
    });
    expect(r.body.outcome).toBe("applied");
  });

  test("without RTGW_PROJECTION_SECRET the route answers 500 (the relay retries) and applies nothing", async () => {
    vi.stubEnv("RTGW_PROJECTION_SECRET", "");
    const r = await deliver(t, update("job-1", 1, "submitted"));
    expect(r.status).toBe(500);
    expect(r.body.error).toMatch(/RTGW_PROJECTION_SECRET/);
    await nothingStored("job-1");
  });

  test("a signed body that is not a ProjectionUpdate is 400 and applies nothing", async () => {
    const noVersion = update("job-1", 1, "submitted");
    delete noVersion.projection_version;
    const r = await deliver(t, noVersion, { id: "pu_x" });
    expect(r).toEqual({
      status: 400,
      body: { ok: false, error: "projection_version is not a positive integer" },
    });
    const badState = { ...update("job-1", 1, "submitted"), state: "exploded" };
    expect((await deliver(t, badState, { id: "pu_y" })).status).toBe(400);
    expect((await deliver(t, {}, { id: "pu_z", raw: "not json" })).status).toBe(400);
    await nothingStored("job-1");
  });

  test("only POST is routed", async () => {
    expect((await t.fetch("/rtgw/projection", { method: "GET" })).status).toBe(404);
  });
});

describe("product queries", () => {
  async function deliverAt(iso: string, body: Record<string, unknown>) {
    vi.setSystemTime(new Date(iso));
    expect((await deliver(t, body)).body.outcome).toBe("applied");
  }

  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    await deliverAt("2026-02-18T00:00:01Z", update("job-a", 1, "submitted"));
    await deliverAt("2026-02-18T00:00:02Z", update("job-b", 1, "submitted"));
    await deliverAt("2026-02-18T00:00:03Z", update("job-c", 1, "submitted"));
    await deliverAt("2026-02-18T00:00:04Z", update("job-a", 2, "running"));
    await deliverAt("2026-02-18T00:00:05Z", update("job-x", 1, "submitted", { workspace_id: "ws-2" }));
    await deliverAt("2026-02-18T00:00:06Z", update("job-y", 1, "submitted", { tenant_id: "tenant-b" }));
  });

  test("by workspace: most recently updated first, page by page", async () => {
    const args = { tenant_id: "tenant-a", workspace_id: "ws-1" };
    const first = await t.query(api.rtgw.byWorkspace, {
      ...args,
      paginationOpts: { numItems: 2, cursor: null },
    });
    expect(first.page.map((j: { job_id: string }) => j.job_id)).toEqual(["job-a", "job-c"]);
    expect(first.isDone).toBe(false);
    const second = await t.query(api.rtgw.byWorkspace, {
      ...args,
      paginationOpts: { numItems: 2, cursor: first.continueCursor },
    });
    expect(second.page.map((j: { job_id: string }) => j.job_id)).toEqual(["job-b"]);
    expect(second.isDone).toBe(true);
    expect(first.page[0]).toMatchObject({
      job_id: "job-a",
      status: "running",
      projection_version: 2,
      updated_at: Date.parse("2026-02-18T00:00:04Z"),
    });
  });

  test("by status: one status of one workspace, most recently updated first", async () => {
    const queued = await t.query(api.rtgw.byStatus, {
      tenant_id: "tenant-a",
      workspace_id: "ws-1",
      status: "queued",
      paginationOpts: { numItems: 10, cursor: null },
    });
    expect(queued.page.map((j: { job_id: string }) => j.job_id)).toEqual(["job-c", "job-b"]);
    const running = await t.query(api.rtgw.byStatus, {
      tenant_id: "tenant-a",
      workspace_id: "ws-1",
      status: "running",
      paginationOpts: { numItems: 10, cursor: null },
    });
    expect(running.page.map((j: { job_id: string }) => j.job_id)).toEqual(["job-a"]);
  });

  test("by job and history: the job's own rows only", async () => {
    expect(await t.query(api.rtgw.job, { tenant_id: "tenant-a", job_id: "job-y" })).toBeNull();
    expect(await t.query(api.rtgw.job, { tenant_id: "tenant-b", job_id: "job-y" })).toMatchObject({
      projection_version: 1,
    });
    const history = await t.query(api.rtgw.history, { tenant_id: "tenant-a", job_id: "job-a" });
    expect(history).toEqual([
      {
        projection_version: 1,
        status: "queued",
        state: "submitted",
        occurred_at: "2026-02-18T00:00:01.000000Z",
        webhook_id: "pu_tenant-a_job-a_1",
        applied_at: Date.parse("2026-02-18T00:00:01Z"),
      },
      {
        projection_version: 2,
        status: "running",
        state: "running",
        occurred_at: "2026-02-18T00:00:02.000000Z",
        webhook_id: "pu_tenant-a_job-a_2",
        applied_at: Date.parse("2026-02-18T00:00:04Z"),
      },
    ]);
  });
});
