// The operator console in a real browser: Debian's chromium driven by puppeteer-core, against a
// real `rtgw serve` (clients/typescript/testing/live-rtgw.mjs) with an in-process relay that
// delivers to a sink this test can make refuse. The API calls a product app or an agent would
// make go straight to rtgw; the browser only does what an operator does.
//   RTGW_BIN=build/release/src/app/rtgw node --test console/test/
//   CONSOLE_SCREENSHOTS=docs/console ... also writes each page's screenshot there.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import puppeteer from "puppeteer-core";

import { freePort, hex, startRtgw } from "../../clients/typescript/testing/live-rtgw.mjs";

const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const SHOTS = process.env.CONSOLE_SCREENSHOTS ? resolve(process.env.CONSOLE_SCREENSHOTS) : "";
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
  "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const WAIT_MS = 15000;
const SAMPLE_VALIDATOR = new URL("../../src/validators/sample/sample_validator.py", import.meta.url).pathname;

const tenant = `console-${hex()}`;
const NODE = "hpc-login-1";
const sink = { refusing: false, received: [] }; // the relay's target
let sinkServer;
let scratch; // the validators file and the media root
let live;
let browser;
let page;
let tokens;
const browserErrors = []; // console errors, page errors and CSP violations, with the step
let step = "start";

// ---- the API as a product app and an agent call it ------------------------------------------

async function call(method, path, token, body) {
  const res = await fetch(live.baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path} -> ${res.status} ${text}`);
  return JSON.parse(text);
}

function heartbeat(node, partitions) {
  return call("POST", `/api/runtime/nodes/${node}/heartbeat`, tokens.node(node), {
    agent_version: "0.3.0",
    executor: "slurm",
    in_flight: 0,
    slurm: { version: "22.05.8", cluster: "ci", partitions, accounts: ["chem"], qos: ["normal"] },
  });
}

async function submit(workspace = "ws-console") {
  const jobId = `job-${hex()}`;
  const sub = await call("POST", "/api/runtime/jobs:submit", tokens.product, {
    tenant_id: tenant, workspace_id: workspace, job_id: jobId, idempotency_key: `submit-${jobId}`,
    management_node_id: NODE, execution_profile: { queue_name: "default" },
    resource_shape: { cpu: 4, memory_mib: 8192, walltime_seconds: 3600 },
    payload_ref: { input_uri: `s3://inputs/${jobId}.json` }, requested_by: { user_id: "alice" },
  });
  return { jobId, submissionId: sub.submission_id, workspace };
}

function event(job, state, extra = {}) {
  return call("POST", `/api/runtime/jobs/${job.jobId}/events`, tokens.node(NODE), {
    event_id: `${job.submissionId}:${state}:${hex()}`, tenant_id: tenant, workspace_id: job.workspace,
    job_id: job.jobId, submission_id: job.submissionId, execution_id: "slurm-4242", state,
    occurred_at: new Date().toISOString(), trace_id: `trace-${state}-${hex()}`, ...extra,
  });
}

// Waits until the relay has delivered everything (its backlog, read from the outbox, is 0).
async function relayIdle() {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const health = await (await fetch(`${live.baseUrl}/api/health`)).json();
    if (health.checks.projection_relay.backlog === 0) return;
    assert.ok(Date.now() < deadline, `relay backlog ${health.checks.projection_relay.backlog}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---- the browser ----------------------------------------------------------------------------

async function shoot(name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.evaluate(() => document.activeElement?.blur());
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function text(selector) {
  return page.$eval(selector, (el) => el.textContent.trim());
}

async function waitText(selector, pattern, ms = WAIT_MS) {
  await page.waitForFunction(
    (sel, source) => {
      const el = document.querySelector(sel);
      return Boolean(el) && new RegExp(source).test(el.textContent);
    },
    { timeout: ms },
    selector,
    pattern.source,
  );
  return text(selector);
}

async function signIn(token) {
  await page.$eval("#token", (el) => {
    el.value = "";
  });
  await page.type("#token", token);
  await page.click("#sign-in-button");
}

before(async () => {
  sinkServer = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      if (sink.refusing) {
        res.writeHead(503).end("sink down");
        return;
      }
      sink.received.push(JSON.parse(body));
      res.writeHead(200).end("ok");
    });
  });
  await new Promise((r) => sinkServer.listen(0, "127.0.0.1", r));
  scratch = mkdtempSync(join(tmpdir(), "rtgw-console-")); // removed by after()
  const validators = join(scratch, "validators.json");
  writeFileSync(validators, JSON.stringify({ validators: [
    { name: "json-rules", version: "1.0.0", timeout_seconds: 30,
      command: ["/usr/bin/python3", SAMPLE_VALIDATOR] },
    { name: "crasher", version: "0.1", timeout_seconds: 5, command: ["/bin/sh", "-c", "exit 3"] },
  ] }));
  live = await startRtgw({
    port: await freePort(), // the validators' callback URL names the listen address
    args: [
      "--projection-url", `http://127.0.0.1:${sinkServer.address().port}/rtgw/projection`,
      "--projection-secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      "--relay-max-attempts", "2", "--relay-backoff-base-ms", "20", "--relay-backoff-max-ms", "200",
      "--relay-poll-interval-ms", "50",
      "--validators-file", validators, "--media-root", join(scratch, "media"),
    ],
  });
  tokens = {
    admin: live.issue(tenant, "operator", { scope: "runtime:admin runtime:read", jti: "auto" }),
    readOnly: live.issue(tenant, "viewer", { scope: "runtime:read" }),
    product: live.issue(tenant, "alice", { scope: "runtime:submit runtime:read runtime:validate" }),
    node: (node) => live.issue(tenant, `agent-${node}`, { node, scope: "runtime:events runtime:read" }),
  };
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Chromium's sandbox cannot start as root (CI containers).
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
    defaultViewport: { width: 1360, height: 900 },
  });
  page = await browser.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") browserErrors.push(`${step}: console: ${m.text()}`);
  });
  page.on("pageerror", (e) => browserErrors.push(`${step}: page error: ${e.message}`));
  await page.exposeFunction("reportCspViolation", (v) => browserErrors.push(`${step}: CSP: ${v}`));
  await page.evaluateOnNewDocument(() => {
    document.addEventListener("securitypolicyviolation", (e) =>
      window.reportCspViolation(`${e.violatedDirective} blocked ${e.blockedURI}`));
  });
});

after(async () => {
  if (browser) await browser.close();
  if (live) await live.close();
  if (sinkServer) await new Promise((r) => sinkServer.close(r));
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

// Errors a step expects: Chromium logs every 4xx answer to fetch() as a console error.
function takeErrors(expected = /$^/) {
  const all = browserErrors.splice(0);
  return all.filter((e) => !(e.includes("console: Failed to load resource") && expected.test(e)));
}

// ---- scenarios (in order: one browser, one gateway) -----------------------------------------

test("the console is served with its security headers and no token", async () => {
  for (const path of ["/console", "/console/app.js", "/console/console.css"]) {
    const res = await fetch(live.baseUrl + path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get("content-security-policy"), CSP, path);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff", path);
    assert.match(res.headers.get("etag"), /^"[0-9a-f]{32}"$/, path);
  }
  const res = await fetch(`${live.baseUrl}/console/nope.js`);
  assert.equal(res.status, 404);
  assert.equal((await res.json()).error.code, "not_found");
});

test("a wrong token and a token without runtime:admin show the API's error", async () => {
  step = "wrong token";
  await page.goto(`${live.baseUrl}/console`, { waitUntil: "networkidle0" });
  assert.equal(await page.$eval("#sign-in", (el) => el.hidden), false);
  await signIn("not-a-token");
  const wrong = await waitText("#sign-in-error", /Sign-in failed/);
  assert.match(wrong, /^Sign-in failed: 401 unauthenticated: invalid bearer token/);
  await signIn(tokens.readOnly);
  const scoped = await waitText("#sign-in-error", /403/);
  assert.match(scoped, /403 scope_denied: missing scope runtime:admin/);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  await shoot("sign-in");
  assert.deepEqual(takeErrors(/status of 40[13]/), []);
});

test("sign in keeps the token in sessionStorage only", async () => {
  step = "sign in";
  await signIn(tokens.admin);
  await page.waitForSelector("#nav:not([hidden])", { timeout: WAIT_MS });
  assert.equal(await page.evaluate(() => window.location.hash), "#/nodes");
  assert.match(await text("#who"), new RegExp(`tenant ${tenant} · operator`));
  assert.equal(await page.evaluate(() => sessionStorage.getItem("rtgw.console.token")), tokens.admin);
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  assert.equal((await page.cookies()).length, 0);
  assert.deepEqual(takeErrors(), []);
});

test("a node's heartbeat appears on the nodes page", async () => {
  step = "nodes";
  await page.waitForSelector("#page[data-page=nodes] .empty:not([hidden])", { timeout: WAIT_MS });
  await heartbeat(NODE, [
    { name: "debug", state: "up", default: true, max_time_minutes: 60, total_nodes: 2, idle_nodes: 1 },
    { name: "gpu", state: "drain", max_time_minutes: 1440, total_nodes: 4, idle_nodes: 0 },
  ]);
  const row = `tr[data-node-id="${NODE}"]`;
  await page.waitForSelector(row, { timeout: WAIT_MS });
  assert.equal(await text(`${row} .executor`), "slurm");
  assert.equal(await text(`${row} .slurm-version`), "22.05.8");
  assert.match(await text(`${row} .stale`), /fresh/);
  assert.match(await text(`${row} [data-partition=debug]`), /debug\*\s+up/);
  assert.match(await text(`${row} [data-partition=gpu]`), /gpu\s+drain/);
  const first = await text(`${row} .last-seen`);
  await heartbeat("hpc-login-2", [{ name: "batch", state: "down" }]);
  await page.waitForSelector('tr[data-node-id="hpc-login-2"]', { timeout: WAIT_MS });
  assert.match(await text("#nodes-summary"), /^2 nodes, 0 stale/);
  await new Promise((r) => setTimeout(r, 1100)); // a heartbeat one second later
  await heartbeat(NODE, [{ name: "debug", state: "up", default: true }]);
  await page.waitForFunction(
    (sel, before) => document.querySelector(sel)?.textContent.trim() !== before,
    { timeout: WAIT_MS }, `${row} .last-seen`, first);
  await shoot("nodes");
  assert.deepEqual(takeErrors(), []);
});

test("a submitted job moves from queued to finished on the jobs page without a reload", async () => {
  step = "jobs";
  await page.click('nav a[data-page="jobs"]');
  await page.waitForSelector("#live[data-state=live]", { timeout: WAIT_MS });
  await page.evaluate(() => {
    window.notReloaded = true;
  });
  const older = await submit();
  await event(older, "queued");
  const job = await submit();
  const row = `tr[data-job-id="${job.jobId}"]`;
  await page.waitForSelector(row, { timeout: WAIT_MS });
  assert.equal(await text(`${row} .status`), "queued");
  assert.equal(await text(`${row} .state`), "submitted");
  // Newest submission first.
  assert.equal(await page.$eval("table.jobs tbody tr", (tr) => tr.dataset.jobId), job.jobId);
  await event(job, "queued");
  await waitText(`${row} .state`, /^queued$/);
  await event(job, "running");
  await waitText(`${row} .status`, /^running$/);
  await event(job, "completed", { result_ref: { output_uri: `s3://outputs/${job.jobId}/` } });
  await waitText(`${row} .status`, /^finished$/);
  assert.equal(await text(`${row} .version`), "4");
  assert.equal(await page.evaluate(() => window.notReloaded), true);

  // The state filter: only running jobs, none now.
  await page.click('#job-filters input[value="running"]');
  await page.click('#job-filters button[type="submit"]');
  await page.waitForSelector("#page .empty:not([hidden])", { timeout: WAIT_MS });
  const running = await submit();
  await event(running, "running");
  await page.waitForSelector(`tr[data-job-id="${running.jobId}"]`, { timeout: WAIT_MS });
  assert.equal(await page.$$eval("table.jobs tbody tr", (rows) => rows.length), 1);
  await page.click('#job-filters button[type="reset"]');
  await page.waitForSelector(row, { timeout: WAIT_MS });
  await page.waitForSelector("#live[data-state=live]", { timeout: WAIT_MS });
  await shoot("jobs");
  assert.deepEqual(takeErrors(), []);

  // The job's detail: its history in arrival order (a late event too, stored but not applied)
  // and its boundary record.
  step = "job detail";
  await event(job, "running");
  await page.click(`${row} .job-id a`);
  await page.waitForSelector("#job-detail table.history", { timeout: WAIT_MS });
  const states = () => page.$$eval("table.history tbody tr .state", (cells) => cells.map((c) => c.textContent));
  assert.deepEqual(await states(), ["queued", "running", "completed", "running"]);
  const seqs = await page.$$eval("table.history tbody tr", (rows) => rows.map((r) => Number(r.dataset.seq)));
  assert.ok(seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]), `seq ascending: ${seqs}`);
  assert.match(await text("table.history tbody tr:last-child .applied"), /^no/);
  assert.match(await text("#job-detail .boundary"), /"adapter": "passthrough"/);
  assert.match(await text("#job-detail .boundary"), /"resolved_queue": "default"/);
  assert.match(await text("#job-detail .job-status"), /finished\s+completed/);
  await shoot("job");

  // Another job's detail follows its changes live.
  await page.evaluate((id) => {
    window.location.hash = `#/jobs/${encodeURIComponent(id)}`;
  }, running.jobId);
  await waitText("#page h1", new RegExp(running.jobId));
  await page.waitForSelector("#live[data-state=live]", { timeout: WAIT_MS });
  await page.waitForSelector("#job-detail table.history", { timeout: WAIT_MS });
  assert.deepEqual(await states(), ["running"]);
  await event(running, "completed");
  await page.waitForFunction(() => document.querySelectorAll("table.history tbody tr").length === 2,
    { timeout: WAIT_MS });
  assert.deepEqual(await states(), ["running", "completed"]);
  await waitText("#job-detail .job-status", /finished/);
  assert.equal(await page.evaluate(() => window.notReloaded), true);
  assert.deepEqual(takeErrors(), []);
});

test("a dead letter is listed on the relay page and replayed from it", async () => {
  step = "relay";
  await relayIdle(); // only this test's update will fail
  sink.refusing = true;
  const job = await submit("ws-dead");
  await page.click('nav a[data-page="relay"]');
  const row = `tr[data-job-id="${job.jobId}"]`;
  await page.waitForSelector(row, { timeout: WAIT_MS });
  assert.equal(await text(`${row} .attempts`), "2");
  assert.match(await text(`${row} .last-error`), /503/);
  await waitText("#relay-state [data-stat=dead_letters] .stat-value", /^[1-9]/);
  assert.equal(await text("#relay-state .relay-head .badge"), "degraded");
  await shoot("relay");
  assert.equal(sink.received.filter((u) => u.job_id === job.jobId).length, 0);

  sink.refusing = false;
  await page.click(`${row} button.replay`);
  await waitText("#relay-message", /queued for delivery again/);
  await page.waitForSelector(row, { hidden: true, timeout: WAIT_MS });
  const deadline = Date.now() + WAIT_MS;
  while (!sink.received.some((u) => u.job_id === job.jobId) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(sink.received.filter((u) => u.job_id === job.jobId).map((u) => u.status), ["queued"]);
  await page.waitForSelector("#no-dead-letters:not([hidden])", { timeout: WAIT_MS });
  await waitText("#relay-state .relay-head .badge", /^ok$/);
  assert.deepEqual(takeErrors(), []);
});

test("validation runs and their status on the validators page", async () => {
  step = "validators";
  const launch = (validator, document) =>
    call("POST", "/api/runtime/validations:launch", tokens.product, {
      validator, workspace_id: "ws-validate",
      input: { document, files: [{ name: "notes.txt", content: "hello" }] },
    });
  const good = await launch("json-rules", {
    data: { name: "water", age: 3 }, rules: [{ path: "name", required: true, type: "string" }],
  });
  const crashed = await launch("crasher", { data: {}, rules: [] });
  await page.click('nav a[data-page="validators"]');
  await waitText(`tr[data-run-id="${good.run_id}"] .status`, /SUCCEEDED/);
  await waitText(`tr[data-run-id="${crashed.run_id}"] .status`, /FAILED/);
  assert.equal(await page.$eval("table.runs tbody tr", (tr) => tr.dataset.runId), crashed.run_id);
  await page.select('#run-filters select[name="status"]', "FAILED");
  await page.click('#run-filters button[type="submit"]');
  await page.waitForFunction(
    (id) => [...document.querySelectorAll("table.runs tbody tr")].map((r) => r.dataset.runId).join() === id,
    { timeout: WAIT_MS }, crashed.run_id);
  await page.select('#run-filters select[name="status"]', "");
  await page.click('#run-filters button[type="submit"]');
  await page.waitForSelector(`tr[data-run-id="${good.run_id}"]`, { timeout: WAIT_MS });
  await shoot("validators");
  assert.deepEqual(takeErrors(), []);
});

test("no CSP violation happened, and the policy is enforced", async () => {
  step = "csp";
  assert.deepEqual(takeErrors(), []);
  // An inline script is refused, and the refusal is reported: the listener above works.
  const ran = await page.evaluate(() => {
    const s = document.createElement("script");
    s.textContent = "window.inlineRan = true";
    document.head.append(s);
    return window.inlineRan === true;
  });
  assert.equal(ran, false);
  await new Promise((r) => setTimeout(r, 200));
  const seen = takeErrors();
  assert.ok(seen.some((e) => e.includes("CSP: script-src")), seen.join("\n"));
});

test("an expired session's 401 sends the operator back to sign in", async () => {
  step = "token revoked";
  // Revoke the operator's token (by its jti) while the console is open on the jobs page.
  const claims = JSON.parse(Buffer.from(tokens.admin.split(".")[1], "base64url").toString());
  assert.ok(claims.jti, "the admin token has a jti");
  await page.click('nav a[data-page="jobs"]');
  await page.waitForSelector("#live[data-state=live]", { timeout: WAIT_MS });
  await call("POST", "/api/runtime/tokens:revoke", tokens.admin, { jti: claims.jti });
  await page.click('nav a[data-page="nodes"]');
  const msg = await waitText("#sign-in-error", /refused/);
  assert.match(msg, /401 token_revoked/);
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  assert.deepEqual(takeErrors(/status of 401/), []);
});
