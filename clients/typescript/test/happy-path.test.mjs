// Happy path of the product app against a live local rtgw (started here on an ephemeral port
// with a temporary SQLite file and proxy auth on), through the built client (dist/).
//   RTGW_BIN=/path/to/rtgw npm test      (default: ../../build/release/src/app/rtgw)
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";

import { createRtgwClient, RtgwApiError } from "../dist/index.js";

const RTGW = resolve(process.env.RTGW_BIN ?? new URL("../../../build/release/src/app/rtgw", import.meta.url).pathname);
const SECRET = randomBytes(32).toString("hex");
const PROXY = { key: "pk-ts-client", secret: randomBytes(16).toString("hex") };
const hex = () => randomBytes(6).toString("hex");

let server;
let dir;
let baseUrl;

function token(tenant, sub = "ts-client") {
  return execFileSync(RTGW, ["dev", "token", "--secret", SECRET, "--tenant", tenant, "--sub", sub])
    .toString()
    .trim();
}

before(async () => {
  assert.ok(existsSync(RTGW), `no rtgw binary at ${RTGW} (set RTGW_BIN)`);
  dir = mkdtempSync(join(tmpdir(), "rtgw-ts-"));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("RTGW_")));
  server = spawn(
    RTGW,
    ["serve", "--listen", "127.0.0.1:0", "--port-file", join(dir, "port"),
     "--database-url", `sqlite://${join(dir, "rtgw.db")}`, "--jwt-hs256-secret", SECRET,
     "--proxy-auth-key", PROXY.key, "--proxy-auth-secret", PROXY.secret, "--access-log", "off"],
    { env, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  server.stderr.on("data", (d) => (stderr += d));
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`rtgw serve exited ${server.exitCode}: ${stderr}`);
    const port = existsSync(join(dir, "port")) ? readFileSync(join(dir, "port"), "utf8").trim() : "";
    if (/^[1-9]\d*$/.test(port)) {
      baseUrl = `http://127.0.0.1:${port}`;
      return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`rtgw serve did not start: ${stderr}`);
});

after(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once("exit", r));
    server.kill("SIGTERM");
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
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
