// The receiver's HTTP route, for the app to mount (a component cannot serve
// HTTP itself): `registerRoutes(http, components.rtgwProjection)` in the
// app's convex/http.ts. The action runs in the app, so it reads the app's
// environment variable RTGW_PROJECTION_SECRET.
//
// POST <path> (default /rtgw/projection), per the rtgw ProjectionUpdate
// contract and Standard Webhooks:
//   401  missing or wrong signature, or a timestamp more than 5 minutes off:
//        nothing is applied
//   400  signed, but not a ProjectionUpdate (the relay retries and then
//        dead-letters it: an operator looks at it)
//   500  RTGW_PROJECTION_SECRET is not set (the relay retries)
//   200  {"ok": true, "outcome": "applied" | "stale" | "duplicate",
//         "stored_version": n}: the update is in the read model, now or before
// The relay treats every 2xx as delivered and anything else as a failed
// attempt that it retries with backoff.
import { httpActionGeneric, type HttpRouter } from "convex/server";
import type { AnyComponents, FunctionReference } from "convex/server";
import type { Infer } from "convex/values";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import type { updateValidator } from "./validators";

export const DEFAULT_PATH = "/rtgw/projection";
export const SECRET_ENV = "RTGW_PROJECTION_SECRET";

type Update = Infer<typeof updateValidator>;

// What the app's `components.<name>` reference must offer: the generated
// component API, or (before the first `npx convex dev`) the untyped stub.
export type RtgwProjectionComponent = AnyComponents[string] | RtgwProjectionApi;
export type RtgwProjectionApi = {
  projections: {
    apply: FunctionReference<
      "mutation",
      "internal",
      { webhook_id: string; update: Update },
      { outcome: "applied" | "stale" | "duplicate"; stored_version: number }
    >;
  };
};

/**
 * The Standard Webhooks verifier for an rtgw projection secret: `whsec_<base64>`
 * is base64-decoded (the Standard Webhooks convention); any other value is
 * the key's bytes, as the gateway uses it.
 */
export function verifierFor(secret: string): Webhook {
  return secret.startsWith("whsec_") ? new Webhook(secret) : new Webhook(secret, { format: "raw" });
}

const STATUSES = new Set(["queued", "running", "finished", "failed", "cancelled"]);
const STATES = new Set(["submitted", "queued", "running", "completed", "failed", "cancelled"]);

/** The update in a verified body, or a reason it is not one. */
export function parseUpdate(body: unknown): Update | string {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "body is not a JSON object";
  const b = body as Record<string, unknown>;
  for (const key of ["tenant_id", "workspace_id", "job_id", "submission_id", "occurred_at"]) {
    if (typeof b[key] !== "string" || b[key] === "") return `${key} is not a non-empty string`;
  }
  if (typeof b.status !== "string" || !STATUSES.has(b.status)) return "status is not a known status";
  if (typeof b.state !== "string" || !STATES.has(b.state)) return "state is not a known state";
  const version = b.projection_version;
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) {
    return "projection_version is not a positive integer";
  }
  if (b.trace_id !== undefined && typeof b.trace_id !== "string") return "trace_id is not a string";
  const update: Update = {
    tenant_id: b.tenant_id as string,
    workspace_id: b.workspace_id as string,
    job_id: b.job_id as string,
    submission_id: b.submission_id as string,
    status: b.status as Update["status"],
    state: b.state as Update["state"],
    projection_version: version,
    occurred_at: b.occurred_at as string,
  };
  if (typeof b.trace_id === "string") update.trace_id = b.trace_id;
  if (b.result_ref !== undefined && b.result_ref !== null) update.result_ref = b.result_ref;
  if (b.error !== undefined && b.error !== null) update.error = b.error;
  return update;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** The HTTP action that verifies, dedupes and applies one ProjectionUpdate. */
export function projectionWebhook(component: RtgwProjectionComponent) {
  return httpActionGeneric(async (ctx, request) => {
    const secret = process.env[SECRET_ENV];
    if (!secret) {
      return json(500, { ok: false, error: `${SECRET_ENV} is not set in this deployment` });
    }
    const payload = await request.text();
    const headers = {
      "webhook-id": request.headers.get("webhook-id") ?? "",
      "webhook-timestamp": request.headers.get("webhook-timestamp") ?? "",
      "webhook-signature": request.headers.get("webhook-signature") ?? "",
    };
    let body: unknown;
    try {
      body = verifierFor(secret).verify(payload, headers);
    } catch (e) {
      if (e instanceof WebhookVerificationError) {
        return json(401, { ok: false, error: `signature rejected: ${e.message}` });
      }
      // A signed body that is not JSON.
      return json(400, { ok: false, error: "body is not JSON" });
    }
    const update = parseUpdate(body);
    if (typeof update === "string") return json(400, { ok: false, error: update });
    const result = await ctx.runMutation(component.projections.apply, {
      webhook_id: headers["webhook-id"],
      update,
    });
    return json(200, { ok: true, ...result });
  });
}

/** Mounts the receiver at `path` (POST only) on the app's router. */
export function registerRoutes(
  http: HttpRouter,
  component: RtgwProjectionComponent,
  { path = DEFAULT_PATH }: { path?: string } = {},
): void {
  http.route({ path, method: "POST", handler: projectionWebhook(component) });
}
