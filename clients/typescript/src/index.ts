// rtgw TypeScript client: the product app's side of the runtime contract
// (docs/contracts/http-api.md). Types come from docs/openapi.json through
// openapi-typescript (src/generated/schema.ts, never edited by hand); calls go
// through openapi-fetch, so a path, body or response field that drifts from
// the document is a compile error.
import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { components, paths } from "./generated/schema.js";

export type { components, paths };
type Schemas = components["schemas"];
export type SubmitJobRequest = Schemas["SubmitJobRequest"];
export type SubmitJobResponse = Schemas["SubmitJobResponse"];
export type ExecutionEventRequest = Schemas["ExecutionEventRequest"];
export type EventAck = Schemas["EventAck"];
export type Job = Schemas["Job"];
export type JobDetail = Schemas["JobDetail"];
export type JobProjection = Schemas["JobProjection"];
export type Health = Schemas["Health"];
export type ErrorBody = Schemas["Error"];

export interface RtgwClientOptions {
  /** Root URL of the gateway, e.g. "http://127.0.0.1:8080". */
  baseUrl: string;
  /** Bearer token (its tenant_id claim is the caller's tenant), or a function returning one. */
  token: string | (() => string | Promise<string>);
  /** Sent as x-tenant-id when given; the gateway answers 403 when it is not the token's. */
  tenantId?: string;
  /** Proxy-auth credentials, when the deployment enables proxy auth. */
  proxyAuth?: { key: string; secret: string; keyHeader?: string; secretHeader?: string };
  /** A fetch implementation (default: globalThis.fetch). */
  fetch?: typeof globalThis.fetch;
}

/** A non-2xx answer: the contract's error body with the HTTP status. */
export class RtgwApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly traceId: string;
  constructor(status: number, body: unknown) {
    const err = (body as Partial<ErrorBody> | undefined)?.error;
    super(`rtgw ${status} ${err?.code ?? "error"}: ${err?.message ?? "no error body"}`);
    this.name = "RtgwApiError";
    this.status = status;
    this.code = err?.code ?? "";
    this.traceId = err?.trace_id ?? "";
  }
}

function unwrap<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.response.ok && r.data !== undefined) return r.data;
  throw new RtgwApiError(r.response.status, r.error);
}

export interface RtgwClient {
  /** The underlying openapi-fetch client, for calls this wrapper does not cover. */
  readonly raw: Client<paths>;
  /** POST /api/runtime/jobs:submit (idempotent by idempotency_key) -> 202 body. */
  submitJob(body: SubmitJobRequest): Promise<SubmitJobResponse>;
  /** POST /api/runtime/jobs/{job_id}/events (idempotent by event_id). */
  postEvent(jobId: string, body: ExecutionEventRequest): Promise<EventAck>;
  getJob(jobId: string): Promise<Job>;
  getJobDetail(jobId: string): Promise<JobDetail>;
  getProjection(jobId: string): Promise<JobProjection>;
  /** GET /api/health (deep adds checks.managed_aiida_runtime); a 503 answer is returned too. */
  health(deep?: boolean): Promise<Health>;
}

export function createRtgwClient(options: RtgwClientOptions): RtgwClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    fetch: options.fetch,
  });
  const auth: Middleware = {
    async onRequest({ request, schemaPath }) {
      if (schemaPath.startsWith("/api/runtime/")) {
        const token = typeof options.token === "function" ? await options.token() : options.token;
        request.headers.set("Authorization", `Bearer ${token}`);
        if (options.tenantId) request.headers.set("x-tenant-id", options.tenantId);
      }
      if (options.proxyAuth && schemaPath !== "/api/health") {
        request.headers.set(options.proxyAuth.keyHeader ?? "Modal-Key", options.proxyAuth.key);
        request.headers.set(
          options.proxyAuth.secretHeader ?? "Modal-Secret",
          options.proxyAuth.secret,
        );
      }
      return request;
    },
  };
  client.use(auth);
  const job = (jobId: string) => ({ params: { path: { job_id: jobId } } });
  return {
    raw: client,
    submitJob: async (body) => unwrap(await client.POST("/api/runtime/jobs:submit", { body })),
    postEvent: async (jobId, body) =>
      unwrap(
        await client.POST("/api/runtime/jobs/{job_id}/events", { ...job(jobId), body }),
      ),
    getJob: async (jobId) => unwrap(await client.GET("/api/runtime/jobs/{job_id}", job(jobId))),
    getJobDetail: async (jobId) =>
      unwrap(await client.GET("/api/runtime/jobs/{job_id}/detail", job(jobId))),
    getProjection: async (jobId) =>
      unwrap(await client.GET("/api/runtime/jobs/{job_id}/projection", job(jobId))),
    health: async (deep = false) => {
      const r = await client.GET("/api/health", {
        params: { query: deep ? { deep: "1" } : {} },
      });
      if (r.data !== undefined) return r.data;
      if (r.error !== undefined && r.response.status === 503) return r.error as Health;
      throw new RtgwApiError(r.response.status, r.error);
    },
  };
}
