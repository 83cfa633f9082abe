// listJobs and watchJobs against a live local rtgw (testing/live-rtgw.mjs) on a fixed port, so the
// watch can be cut by a server restart and must resume with Last-Event-ID on its own.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { createRtgwClient, RtgwApiError } from "../dist/index.js";
import { freePort, hex, startRtgw } from "../testing/live-rtgw.mjs";

let live;

before(async () => {
  live = await startRtgw({ port: await freePort() });
});

after(async () => {
  if (live) await live.close();
});

function tenantClient() {
  const tenant = `tenant-${hex()}`;
  const rt = createRtgwClient({ baseUrl: live.baseUrl, token: () => live.token(tenant) });
  const submit = async (workspace = "ws-a") => {
    const jobId = `job-ts-${hex()}`;
    const sub = await rt.submitJob({
      tenant_id: tenant, workspace_id: workspace, job_id: jobId, idempotency_key: `k-${jobId}`,
      management_node_id: "mgmt-node-1", execution_profile: { queue_name: "default" },
      resource_shape: { cpu: 1, memory_mib: 512, walltime_seconds: 60 },
      payload_ref: { input_uri: `inline://ts/${jobId}` }, requested_by: { user_id: "ts-client" },
    });
    return { jobId, submissionId: sub.submission_id, workspace };
  };
  const post = (job, state) => rt.postEvent(job.jobId, {
    event_id: `evt-${state}-${job.jobId}`, tenant_id: tenant, workspace_id: job.workspace,
    job_id: job.jobId, submission_id: job.submissionId, execution_id: "x", state,
    occurred_at: "2026-02-18T00:00:00Z", trace_id: `trace-${state}`,
  });
  return { tenant, rt, submit, post };
}

/** Takes `n` changes from a running watch iterator (bounded). */
async function take(it, n, ms = 15000) {
  const out = [];
  const deadline = Date.now() + ms;
  while (out.length < n) {
    const left = deadline - Date.now();
    assert.ok(left > 0, `got ${out.length} of ${n} changes in ${ms} ms`);
    const r = await Promise.race([it.next(), new Promise((res) => setTimeout(() => res("timeout"), left))]);
    assert.notEqual(r, "timeout", `got ${out.length} of ${n} changes in ${ms} ms`);
    assert.equal(r.done, false, "the watch ended");
    out.push(r.value);
  }
  return out;
}

test("listJobs pages newest first through next_cursor, filters apply", async () => {
  const { rt, submit, post } = tenantClient();
  const jobs = [];
  for (let i = 0; i < 7; i++) jobs.push(await submit(i % 2 ? "ws-b" : "ws-a"));
  await post(jobs[0], "running");
  const pages = [];
  for await (const page of rt.listJobs({ limit: 3 })) pages.push(page);
  assert.deepEqual(pages.map((p) => p.jobs.length), [3, 3, 1]);
  assert.equal(new Set(pages.map((p) => p.watch_from)).size, 1, "one watch_from for all pages");
  assert.equal(pages.at(-1).next_cursor, null);
  assert.deepEqual(pages.flatMap((p) => p.jobs.map((j) => j.job_id)), jobs.map((j) => j.jobId).reverse());
  const running = [];
  for await (const page of rt.listJobs({ state: ["running", "completed"] })) running.push(...page.jobs);
  assert.deepEqual(running.map((j) => [j.job_id, j.state]), [[jobs[0].jobId, "running"]]);
  const wsB = [];
  for await (const page of rt.listJobs({ workspace_id: "ws-b", state: "submitted", limit: 2 })) wsB.push(...page.jobs);
  assert.deepEqual(wsB.map((j) => j.job_id), jobs.filter((j) => j.workspace === "ws-b").map((j) => j.jobId).reverse());
  await assert.rejects(
    async () => { for await (const _ of rt.listJobs({ limit: 0 })) { /* never */ } },
    (e) => e instanceof RtgwApiError && e.status === 400 && e.code === "invalid_argument" && /limit/.test(e.message),
  );
});

test("watchJobs from a list's watch_from, across a server restart, without gap or repeat", async () => {
  const { rt, submit, post } = tenantClient();
  const first = await submit();
  let watchFrom;
  for await (const page of rt.listJobs()) {
    watchFrom ??= page.watch_from;
  }
  const controller = new AbortController();
  const it = rt.watchJobs({ workspace_id: "ws-a" }, { after: watchFrom, signal: controller.signal });
  await post(first, "queued");
  const second = await submit();
  await submit("ws-b"); // filtered out
  const seen = await take(it, 2);
  assert.deepEqual(seen.map((c) => [c.data.job_id, c.data.projection_version, c.data.state]),
    [[first.jobId, 2, "queued"], [second.jobId, 1, "submitted"]]);
  assert.ok(seen.every((c) => typeof c.id === "string" && c.id.length > 0));

  // The server goes away (drain closes the stream) and comes back on the same port and store.
  const pending = it.next(); // the iterator keeps waiting and reconnecting meanwhile
  await live.stop();
  await live.start();
  await post(first, "running");
  await post(second, "running");
  const r = await Promise.race([pending, new Promise((res) => setTimeout(() => res("timeout"), 20000))]);
  assert.notEqual(r, "timeout", "no change after the restart within 20 s");
  const rest = [r.value, ...(await take(it, 1))];
  assert.deepEqual(rest.map((c) => [c.data.job_id, c.data.projection_version]),
    [[first.jobId, 3], [second.jobId, 2]]);
  controller.abort();
  assert.equal((await it.next()).done, true, "the signal ends the iterator");
});

test("watchJobs errors: a garbage cursor is RtgwApiError 400; break closes the stream", async () => {
  const { rt, submit } = tenantClient();
  await assert.rejects(
    async () => { for await (const _ of rt.watchJobs({}, { after: "garbage" })) { /* never */ } },
    (e) => e instanceof RtgwApiError && e.status === 400 && e.code === "invalid_argument",
  );
  const { value: page } = await rt.listJobs().next();
  const it = rt.watchJobs({}, { after: page.watch_from });
  const job = await submit();
  const [c] = await take(it, 1);
  assert.equal(c.data.job_id, job.jobId);
  assert.equal((await it.return()).done, true);
});
