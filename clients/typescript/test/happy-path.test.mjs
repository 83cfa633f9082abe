// Happy path of the product app against a live local rtgw (testing/live-rtgw.mjs: an ephemeral
// port, a temporary SQLite file, proxy auth on here), through the built client (dist/).
//   RTGW_BIN=/path/to/rtgw npm test      (default: ../../build/release/src/app/rtgw)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";

import { createRtgwClient, RtgwApiError } from "../dist/index.js";
import { hex, startRtgw } from "../testing/live-rtgw.mjs";

const PROXY = { key: "pk-ts-client", secret: randomBytes(16).toString("hex") };

let live;
let baseUrl;
const token = (tenant, sub) => live.token(tenant, sub);

before(async () => {
  live = await startRtgw({ args: ["--proxy-auth-key", PROXY.key, "--proxy-auth-secret", PROXY.secret] });
  baseUrl = live.baseUrl;
});

after(async () => {
  if (live) await live.close();
});

test("submit, events, reads: the product app's happy path", async () => {
  const tenant = `tenant-${hex()}`;
  const rt = createRtgwClient({ baseUrl, token: token(tenant), tenantId: tenant, proxyAuth: PROXY });
  const health = await rt.health(true);
  assert.equal(health.status, "ok");

  const jobId = `job-ts-${hex()}`;
  const body = {
    tenant_id: tenant, workspace_id: tenant, job_id: jobId, idempotency_key: `submit-${jobId}`,
    management_node_id: "mgmt-node-1", execution_profile: { queue_name: "default" },
    resource_shape: { cpu: 1, memory_mib: 2048, walltime_seconds: 3600 },
    payload_ref: { input_uri: `inline://ts/${jobId}` }, requested_by: { user_id: "ts-client" },
  };
  const sub = await rt.submitJob(body);
  assert.equal(sub.job_id, jobId);
  assert.match(sub.submission_id, /^[0-9a-f-]{36}$/);
  assert.match(sub.trace_id, /^[0-9a-f]{32}$/);
  assert.deepEqual(await rt.submitJob(body), sub, "a retried submit returns the original answer");

  const event = (state, extra = {}) => ({
    event_id: `evt-${state}-${jobId}`, tenant_id: tenant, workspace_id: tenant, job_id: jobId,
    submission_id: sub.submission_id, execution_id: "aiida-ts", state,
    occurred_at: "2026-02-18T00:00:00Z", trace_id: `trace-${state}`, ...extra,
  });
  assert.deepEqual(await rt.postEvent(jobId, event("running")), { ok: true, idempotent: false });
  assert.deepEqual(await rt.postEvent(jobId, event("running")), { ok: true, idempotent: true });
  const done = event("completed", { result_ref: { output_uri: `inline://ts/${jobId}/out` } });
  assert.deepEqual(await rt.postEvent(jobId, done), { ok: true, idempotent: false });

  const job = await rt.getJob(jobId);
  assert.equal(job.state, "completed");
  assert.deepEqual(job.result_ref, { output_uri: `inline://ts/${jobId}/out` });
  const detail = await rt.getJobDetail(jobId);
  assert.deepEqual(detail.events.map((e) => e.state), ["running", "completed"]);
  const projection = await rt.getProjection(jobId);
  assert.equal(projection.status, "finished");
  assert.equal(projection.projection_version, 3);

  // another tenant sees nothing: 404, as RtgwApiError with the contract's code
  const other = createRtgwClient({ baseUrl, token: token(`other-${hex()}`), proxyAuth: PROXY });
  await assert.rejects(other.getJob(jobId), (e) => e instanceof RtgwApiError && e.status === 404 && e.code === "not_found" && /^[0-9a-f]{32}$/.test(e.traceId));
});

test("errors surface as RtgwApiError: drift 409, another user 403, wrong proxy secret 401", async () => {
  const tenant = `tenant-${hex()}`;
  const rt = createRtgwClient({ baseUrl, token: () => token(tenant), proxyAuth: PROXY });
  const jobId = `job-ts-${hex()}`;
  const body = {
    tenant_id: tenant, workspace_id: tenant, job_id: jobId, idempotency_key: `k-${jobId}`,
    management_node_id: "m", execution_profile: { queue_name: "q" },
    resource_shape: { cpu: 1, memory_mib: 1, walltime_seconds: 1 },
    payload_ref: { input_uri: "x:y" }, requested_by: { user_id: "ts-client" },
  };
  await rt.submitJob(body);
  await assert.rejects(
    rt.submitJob({ ...body, resource_shape: { cpu: 2, memory_mib: 1, walltime_seconds: 1 } }),
    (e) => e instanceof RtgwApiError && e.status === 409 && e.code === "idempotency_conflict",
  );
  // requested_by.user_id must be the token's sub (a BFF for many users needs runtime:submit_as)
  await assert.rejects(
    rt.submitJob({ ...body, job_id: `${jobId}-b`, idempotency_key: `k-${jobId}-b`, requested_by: { user_id: "someone-else" } }),
    (e) => e instanceof RtgwApiError && e.status === 403 && e.code === "subject_mismatch",
  );
  const wrong = createRtgwClient({ baseUrl, token: token(tenant), proxyAuth: { ...PROXY, secret: "nope" } });
  await assert.rejects(wrong.getJob(jobId), (e) => e.status === 401 && e.code === "proxy_unauthorized");
});
