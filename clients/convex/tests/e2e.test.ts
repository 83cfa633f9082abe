// @vitest-environment node
//
// End to end: a real `rtgw serve` relays signed ProjectionUpdates to this
// receiver, hosted by a small Node HTTP server through convex-test, while a
// real `rtgw agent` (local executor, no Slurm) drives jobs to their end.
// The same server answers Convex's HTTP query API (POST /api/query), so
// `rtgw conformance --convex-url` reads the read model through the app's
// `rtgw:history` query, as it would read a Convex deployment.
//
// Needs RTGW_BIN (the rtgw binary); scripts/test-convex.sh sets it.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeFunctionReference } from "convex/server";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { api, component, newReceiver, PATH, SECRET, STATUS_OF, type Receiver } from "./harness";

const RTGW_BIN = process.env.RTGW_BIN ?? "";
const JWT_SECRET = "convex-e2e-hs256-secret-0123456789abcdef";
const AGENT_TENANT = "tenant-convex-e2e";
const NODE_ID = "node-convex-e2e";
const WORKSPACE = "ws-convex-e2e";

// ---------------------------------------------------------------------------
// The stand-in for the Convex deployment: the receiver's HTTP action at
// /rtgw/projection (the .convex.site side) and the query API at /api/query
// (the .convex.cloud side), both through convex-test.
// ---------------------------------------------------------------------------
type Arrival = { webhook_id: string; status: number; outcome?: string; body: Record<string, unknown> };

class Deployment {
  readonly t: Receiver = newReceiver();
  readonly arrivals: Arrival[] = [];
  // Answer 500 after applying the first attempt of these webhook-ids' updates
  // (an answer lost on the way back): the relay must retry, the receiver dedupe.
  loseFirstAnswer: (body: Record<string, unknown>) => boolean = () => false;
  private server: Server | null = null;
  private lost = new Set<string>();
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req)
        .then(({ status, body }) => {
          res.writeHead(status, { "content-type": "application/json" });
          res.end(JSON.stringify(body));
        })
        .catch((e: unknown) => {
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: String(e) }));
        });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    const address = this.server.address();
    this.port = typeof address === "object" && address ? address.port : 0;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    if (req.method === "POST" && req.url === PATH) {
      const headers: Record<string, string> = {};
      for (const name of ["content-type", "webhook-id", "webhook-timestamp", "webhook-signature"]) {
        const value = req.headers[name];
        if (typeof value === "string") headers[name] = value;
      }
      const response = await this.t.fetch(PATH, { method: "POST", headers, body: raw });
      const answer = JSON.parse(await response.text());
      const parsed = JSON.parse(raw) as Record<string, unknown>;
      const id = headers["webhook-id"] ?? "";
      this.arrivals.push({ webhook_id: id, status: response.status, outcome: answer.outcome, body: parsed });
      if (response.status === 200 && this.loseFirstAnswer(parsed) && !this.lost.has(id)) {
        this.lost.add(id);
        return { status: 500, body: { error: "answer lost (test)" } };
      }
      return { status: response.status, body: answer };
    }
    if (req.method === "POST" && req.url === "/api/query") {
      // Convex's HTTP query API: {"path": "module:function", "args": {...}, "format": "json"}.
      const { path, args } = JSON.parse(raw) as { path: string; args: Record<string, unknown> };
      try {
        const value = await this.t.query(makeFunctionReference<"query">(path), args ?? {});
        return { status: 200, body: { status: "success", value, logLines: [] } };
      } catch (e) {
        return { status: 400, body: { status: "error", errorMessage: String(e), logLines: [] } };
      }
    }
    return { status: 404, body: { error: `no route ${req.method} ${req.url}` } };
  }
}

// ---------------------------------------------------------------------------
// rtgw processes
// ---------------------------------------------------------------------------
const workdir = mkdtempSync(join(tmpdir(), "rtgw-convex-e2e-"));
const children: ChildProcess[] = [];

function rtgwEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("RTGW_")) env[k] = v;
  return { ...env, ...extra };
}

// Why a started process is gone (spawn error or exit), or undefined while it runs.
const gone = new Map<string, string>();

function start(name: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const log = openSync(join(workdir, `${name}.log`), "a");
  const child = spawn(RTGW_BIN, args, { env, stdio: ["ignore", log, log], cwd: workdir });
  child.on("error", (e) => gone.set(name, `rtgw ${args[0]} could not start: ${e.message}`));
  child.on("exit", (code, signal) => gone.set(name, `rtgw ${args[0]} exited (${code ?? signal})`));
  children.push(child);
  return child;
}

function logOf(name: string): string {
  try {
    return readFileSync(join(workdir, `${name}.log`), "utf8").slice(-4000);
  } catch {
    return "";
  }
}

function rtgw(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(RTGW_BIN, args, { env: rtgwEnv(), encoding: "utf8", timeout: 120_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function token(tenant: string, extra: string[] = []): string {
  const r = rtgw("dev", "token", "--secret", JWT_SECRET, "--tenant", tenant, ...extra);
  if (r.status !== 0) throw new Error(`rtgw dev token: ${r.stderr}`);
  return r.stdout.trim();
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (gone.size > 0) {
      throw new Error(`${[...gone.values()].join("; ")} while waiting for ${what}\n` +
        `gateway log:\n${logOf("gateway")}\nagent log:\n${logOf("agent")}`);
    }
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what} (${String(last ?? "")})\n` +
    `gateway log:\n${logOf("gateway")}\nagent log:\n${logOf("agent")}`);
}

let gatewayUrl = "";
const deployment = new Deployment();
let productToken = "";

async function gateway(path: string, init: RequestInit = {}): Promise<Response> {
  return await fetch(gatewayUrl + path, {
    ...init,
    headers: {
      authorization: `Bearer ${productToken}`,
      "x-tenant-id": AGENT_TENANT,
      "content-type": "application/json",
      ...(init.headers ?? {}),
    },
  });
}

async function submit(job_id: string, input_uri: string): Promise<void> {
  const r = await gateway("/api/runtime/jobs:submit", {
    method: "POST",
    body: JSON.stringify({
      tenant_id: AGENT_TENANT,
      workspace_id: WORKSPACE,
      job_id,
      idempotency_key: `k-${job_id}`,
      management_node_id: NODE_ID,
      execution_profile: { queue_name: "default" },
      resource_shape: { cpu: 1, memory_mib: 64, walltime_seconds: 600 },
      payload_ref: { input_uri },
      requested_by: { user_id: "convex-e2e" },
    }),
  });
  expect(r.status, await r.clone().text()).toBe(202);
}

type Step = [number, string, string]; // version, state, status

async function readModelHistory(tenant_id: string, job_id: string): Promise<Step[]> {
  const rows = await deployment.t.query(api.rtgw.history, { tenant_id, job_id });
  return rows.map((r: { projection_version: number; state: string; status: string }) => [
    r.projection_version,
    r.state,
    r.status,
  ]);
}

// Runs rtgw without blocking this process's event loop (the receiver it
// checks is served from here).
function rtgwAsync(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(RTGW_BIN, args, { env: rtgwEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

async function conformance(...extra: string[]) {
  const report = join(workdir, `report-${Math.random().toString(16).slice(2)}.json`);
  const r = await rtgwAsync(
    "conformance",
    "--base-url", gatewayUrl,
    "--token", token("tenant-conformance", ["--sub", "conformance"]),
    "--other-tenant-token", token("tenant-conformance-other", ["--sub", "conformance"]),
    "--convex-url", deployment.url,
    "--timeout-ms", "5000",
    "--json", report,
    ...extra,
  );
  const data = JSON.parse(readFileSync(report, "utf8"));
  return { ...r, data };
}

type Check = { name: string; passed: boolean; skipped: boolean; detail: string; diagnostic: string | null };

function readModelCheck(data: { gates: { gate: number; checks: Check[] }[] }): Check {
  const gate6 = data.gates.find((g) => g.gate === 6)!;
  return gate6.checks.find((c) => c.name.includes("--convex-url"))!;
}

describe.skipIf(!RTGW_BIN)("rtgw relay -> Convex receiver -> rtgw conformance", () => {
  beforeAll(async () => {
    process.env.RTGW_PROJECTION_SECRET = SECRET; // the deployment's environment variable
    await deployment.start();
    const portFile = join(workdir, "port");
    start(
      "gateway",
      [
        "serve",
        "--listen", "127.0.0.1:0",
        "--port-file", portFile,
        "--database-url", `sqlite://${join(workdir, "gw.db")}`,
        "--jwt-hs256-secret", JWT_SECRET,
        "--projection-url", `${deployment.url}${PATH}`,
        "--projection-secret", SECRET,
      ],
      rtgwEnv({ RTGW_RELAY_BACKOFF_BASE_MS: "100", RTGW_RELAY_BACKOFF_MAX_MS: "400" }),
    );
    const port = await until("the gateway's port file", async () => {
      const text = readFileSync(portFile, "utf8").trim();
      return /^\d+$/.test(text) && Number(text) > 0 ? Number(text) : undefined;
    });
    gatewayUrl = `http://127.0.0.1:${port}`;
    await until("GET /api/health", async () => ((await fetch(`${gatewayUrl}/api/health`)).ok ? true : undefined));
    productToken = token(AGENT_TENANT, ["--sub", "convex-e2e"]);
    const nodeToken = join(workdir, "node.token");
    writeFileSync(nodeToken, token(AGENT_TENANT, ["--sub", `agent-${NODE_ID}`, "--node", NODE_ID]) + "\n");
    start(
      "agent",
      [
        "agent",
        "--gateway-url", gatewayUrl,
        "--node-id", NODE_ID,
        "--token-file", nodeToken,
        "--executor", "local",
        "--journal", join(workdir, "agent.db"),
        "--work-dir", join(workdir, "work"),
        "--poll-interval-ms", "300",
        "--heartbeat-interval-ms", "1000",
        "--lease-wait-seconds", "2",
        "--backoff-initial-ms", "100",
        "--backoff-max-ms", "1000",
        "--shutdown-timeout-ms", "3000",
      ],
      rtgwEnv(),
    );
  }, 60_000);

  afterAll(async () => {
    for (const child of children.reverse()) {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => {
          const timer = setTimeout(() => {
            child.kill("SIGKILL");
            r(null);
          }, 10_000);
          child.once("exit", () => {
            clearTimeout(timer);
            r(null);
          });
        });
      }
    }
    await deployment.stop();
    if (!process.env.RTGW_E2E_KEEP) rmSync(workdir, { recursive: true, force: true });
  }, 30_000);

  test("jobs driven by the agent reach the read model with every version, once, in order", async () => {
    // Every update of version 2 has its first answer lost: the relay retries it.
    deployment.loseFirstAnswer = (b) => b.tenant_id === AGENT_TENANT && b.projection_version === 2;
    const jobs = {
      "job-convex-ok-1": "inline://convex-ok?sleep=0",
      "job-convex-ok-2": "inline://convex-ok?sleep=1",
      "job-convex-bad": "inline://convex-bad?sleep=0&exit=3",
    };
    for (const [job_id, uri] of Object.entries(jobs)) await submit(job_id, uri);

    for (const job_id of Object.keys(jobs)) {
      // The gateway's final projection, once the job has ended.
      const served = await until(`${job_id} to end`, async () => {
        const p = await (await gateway(`/api/runtime/jobs/${job_id}/projection`)).json();
        return ["finished", "failed", "cancelled"].includes(p.status) ? p : undefined;
      });
      const detail = await (await gateway(`/api/runtime/jobs/${job_id}/detail`)).json();
      const appliedStates: string[] = detail.events
        .filter((e: { applied?: boolean }) => e.applied !== false)
        .map((e: { state: string }) => e.state);
      const expected: Step[] = ["submitted", ...appliedStates].map((state, i) => [i + 1, state, STATUS_OF[state]]);
      expect(expected.length).toBe(served.projection_version);

      const history = await until(`${job_id} in the read model at v${served.projection_version}`, async () => {
        const h = await readModelHistory(AGENT_TENANT, job_id);
        return h.length && h[h.length - 1][0] === served.projection_version ? h : undefined;
      });
      expect(history).toEqual(expected);
      const job = await deployment.t.query(api.rtgw.job, { tenant_id: AGENT_TENANT, job_id });
      expect(job).toMatchObject({
        workspace_id: WORKSPACE,
        projection_version: served.projection_version,
        status: served.status,
        state: served.state,
      });
    }
    const ok = await deployment.t.query(api.rtgw.job, { tenant_id: AGENT_TENANT, job_id: "job-convex-ok-1" });
    expect(ok).toMatchObject({ status: "finished", state: "completed" });
    expect(ok.result_ref).toBeTruthy();
    const bad = await deployment.t.query(api.rtgw.job, { tenant_id: AGENT_TENANT, job_id: "job-convex-bad" });
    expect(bad).toMatchObject({ status: "failed", state: "failed" });
    expect(bad.error).toMatchObject({ exit_code: 3 });

    // The lost answers were retried by the relay and deduped by the receiver.
    const duplicates = deployment.arrivals.filter((a) => a.outcome === "duplicate");
    expect(duplicates.length).toBeGreaterThanOrEqual(Object.keys(jobs).length);
    expect(duplicates.every((a) => a.body.projection_version === 2)).toBe(true);
    expect(deployment.arrivals.every((a) => a.status === 200)).toBe(true);

    // The product's workspace list: all three, most recently updated first.
    const page = await deployment.t.query(api.rtgw.byWorkspace, {
      tenant_id: AGENT_TENANT,
      workspace_id: WORKSPACE,
      paginationOpts: { numItems: 10, cursor: null },
    });
    expect(page.page.map((j: { job_id: string }) => j.job_id).sort()).toEqual(Object.keys(jobs).sort());
    const times = page.page.map((j: { updated_at: number }) => j.updated_at);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    deployment.loseFirstAnswer = () => false;
  }, 120_000);

  test("rtgw conformance gate 6 reads the read model through rtgw:history and passes", async () => {
    const r = await conformance();
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.data.passed).toBe(true);
    expect(r.data.convex_url).toBe(deployment.url);
    const check = readModelCheck(r.data);
    expect(check).toMatchObject({ passed: true, skipped: false });
    // What it compared: the job it wrote, applied 1, 2, 3 in the read model.
    expect(r.data.job_id).toMatch(/^job-gate-/);
  }, 120_000);

  test("gate 6 fails when the read model is wrong (a doctored history)", async () => {
    const job_id = `job-gate-doctored-${Date.now()}`;
    // A writer that bypassed the signed route put a version 2 the gateway never
    // served ("failed") into the read model before the real updates arrived:
    // the real 1 and 2 are then stale, only 3 is applied.
    await deployment.t.mutation(component.projections.apply, {
      webhook_id: "pu_forged",
      update: {
        tenant_id: "tenant-conformance",
        workspace_id: "tenant-conformance",
        job_id,
        submission_id: "forged",
        status: "failed",
        state: "failed",
        projection_version: 2,
        occurred_at: "2026-02-18T00:00:00.000000Z",
      },
    });
    const r = await conformance("--job-id", job_id, "--sink-wait-ms", "3000");
    expect(r.status, r.stdout).toBe(1);
    expect(r.data.passed).toBe(false);
    const check = readModelCheck(r.data);
    expect(check.passed).toBe(false);
    expect(check.detail).toMatch(/version 2 differs: sink has failed\/failed, gateway served running\/running/);
    expect(check.diagnostic).toMatch(/read model mismatch/);
    // Everything else about the deployment is fine: only the read model check failed.
    const failed = r.data.gates.flatMap((g: { checks: Check[] }) => g.checks.filter((c) => !c.passed));
    expect(failed).toEqual([check]);
    expect(await readModelHistory("tenant-conformance", job_id)).toEqual([
      [2, "failed", "failed"],
      [3, "completed", "finished"],
    ]);
  }, 120_000);
});
