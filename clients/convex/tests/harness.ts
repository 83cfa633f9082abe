// The receiver under convex-test (Convex's test harness, running the real
// function code): the app's modules, the component registered under the
// name the app installs it with, and signed deliveries as the rtgw relay
// makes them (docs/contracts/projection-update.md).
import { convexTest } from "convex-test";
import { anyApi, componentsGeneric } from "convex/server";
import { Webhook } from "standardwebhooks";
import componentSchema from "../convex/components/rtgwProjection/schema";

export const appModules = import.meta.glob(["../convex/**/*.ts", "!../convex/components/**"]);
export const componentModules = import.meta.glob("../convex/components/rtgwProjection/**/*.ts");

// The README's example secret (Standard Webhooks form: whsec_ + base64 key).
export const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
export const PATH = "/rtgw/projection";

export const api = anyApi;
// The component's functions, as the app reaches them.
export const component = componentsGeneric().rtgwProjection;

export function newReceiver() {
  const t = convexTest({ modules: appModules });
  t.registerComponent("rtgwProjection", componentSchema, componentModules);
  return t;
}
export type Receiver = ReturnType<typeof newReceiver>;

// Gateway state -> app-facing status (the contract's table).
export const STATUS_OF: Record<string, string> = {
  submitted: "queued",
  queued: "queued",
  running: "running",
  completed: "finished",
  failed: "failed",
  cancelled: "cancelled",
};

export type UpdateBody = Record<string, unknown>;

/** A ProjectionUpdate body with the contract's keys, in the contract's order. */
export function update(
  job_id: string,
  projection_version: number,
  state: string,
  { tenant_id = "tenant-a", workspace_id = "ws-1" }: { tenant_id?: string; workspace_id?: string } = {},
): UpdateBody {
  const body: UpdateBody = {
    tenant_id,
    workspace_id,
    job_id,
    submission_id: `sub-${job_id}`,
    status: STATUS_OF[state],
    state,
    projection_version,
    occurred_at: `2026-02-18T00:00:0${projection_version}.000000Z`,
    trace_id: `trace-${job_id}-${projection_version}`,
  };
  if (state === "completed") body.result_ref = { output_uri: `s3://bucket/${job_id}/out` };
  if (state === "failed") body.error = { code: "exit_code", message: "exit 3", exit_code: 3 };
  return body;
}

/** The webhook-id the relay gives an update: the same on every retry of it. */
export function webhookId(body: UpdateBody): string {
  return `pu_${body.tenant_id}_${body.job_id}_${body.projection_version}`;
}

export type Delivery = {
  id?: string;
  secret?: string;
  at?: Date; // the attempt's webhook-timestamp
  headers?: Record<string, string>; // replaces the signed headers
  raw?: string; // the exact bytes to send (default JSON of the body)
};

/** Signs `body` as the relay does and POSTs it to the receiver's route. */
export async function deliver(t: Receiver, body: UpdateBody, d: Delivery = {}) {
  const payload = d.raw ?? JSON.stringify(body);
  const id = d.id ?? webhookId(body);
  const at = d.at ?? new Date();
  const signature = new Webhook(d.secret ?? SECRET).sign(id, at, payload);
  const headers = d.headers ?? {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": signature,
  };
  const response = await t.fetch(PATH, { method: "POST", headers, body: payload });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** The job's applied history as (version, state) pairs. */
export async function historyOf(t: Receiver, job_id: string, tenant_id = "tenant-a") {
  const rows = await t.query(api.rtgw.history, { tenant_id, job_id });
  return rows.map((r: { projection_version: number; state: string }) => [r.projection_version, r.state]);
}
