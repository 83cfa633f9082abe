// rtgw TypeScript client: the product app's side of the runtime contract
// (docs/contracts/http-api.md). Types come from docs/openapi.json through
// openapi-typescript (src/generated/schema.ts, never edited by hand); calls go
// through openapi-fetch, so a path, body or response field that drifts from
// the document is a compile error.
import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { components, paths } from "./generated/schema.js";
import { parseSse } from "./sse.js";

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
export type JobList = Schemas["JobList"];
export type ProjectionUpdate = Schemas["ProjectionUpdate"];
export type JobState = Job["state"];

type ListQuery = NonNullable<paths["/api/runtime/jobs"]["get"]["parameters"]["query"]>;
type WatchQuery = NonNullable<paths["/api/runtime/jobs:watch"]["get"]["parameters"]["query"]>;

/** Filters of GET /api/runtime/jobs; `state` also as a list of states. */
export type ListJobsFilters = Omit<ListQuery, "cursor" | "state"> & {
  state?: ListQuery["state"] | JobState[];
  /** Start from this next_cursor of an earlier page instead of the first page. */
  cursor?: string;
};

/** Filters of GET /api/runtime/jobs:watch (`job_id`: any of them). */
export type WatchJobsFilters = Omit<WatchQuery, "after">;

export interface WatchJobsOptions {
  /**
   * Start right after this change cursor: a list's `watch_from`, or the `id`
   * of the last change seen. Without it the watch starts at the current end.
   */
  after?: string;
  /** Ends the watch: the iterator returns (an abort during a wait ends it too). */
  signal?: AbortSignal;
  /**
   * Milliseconds to wait before reconnecting until the server sends its own
   * `retry:` (it does, first thing); default 3000.
   */
  retryMs?: number;
  /**
   * Failed connection attempts in a row (network errors, 429, 5xx) after which
   * the iterator throws the last error; default Infinity (like EventSource).
   */
  maxAttempts?: number;
}

/** One committed job change: `id` is its change cursor (resume after it with `after`). */
export interface JobChange {
  id: string;
  data: ProjectionUpdate;
}

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
  /**
   * GET /api/runtime/jobs, page after page (newest submission first), following
   * next_cursor until the last page. Every page carries the same `watch_from`:
   * pass it to watchJobs({...}, { after }) to miss no change made since the first page.
   */
  listJobs(filters?: ListJobsFilters): AsyncIterableIterator<JobList>;
  /**
   * GET /api/runtime/jobs:watch: the tenant's job changes as they commit, in
   * order. A dropped connection (network error, server restart or drain) is
   * reopened after the server's `retry:` with Last-Event-ID = the last change
   * seen, so no change is missed or repeated. 429 / 5xx answers are retried
   * the same way (429 after its Retry-After). Throws RtgwApiError on other
   * errors, e.g. 410 cursor_expired (list again and watch from that
   * `watch_from`). Stop it with `break` or the signal.
   */
  watchJobs(filters?: WatchJobsFilters, options?: WatchJobsOptions): AsyncIterableIterator<JobChange>;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function isAbort(e: unknown): boolean {
  return e instanceof Error && (e.name === "AbortError" || e.name === "TimeoutError");
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
    listJobs: async function* (filters = {}) {
      const { state, cursor, ...rest } = filters;
      const query: ListQuery = { ...rest };
      if (state !== undefined) query.state = Array.isArray(state) ? state.join(",") : state;
      let next: string | null | undefined = cursor;
      do {
        const page: JobList = unwrap(
          await client.GET("/api/runtime/jobs", {
            params: { query: next ? { ...query, cursor: next } : query },
          }),
        );
        yield page;
        next = page.next_cursor;
      } while (next);
    },
    watchJobs: async function* (filters = {}, options = {}) {
      const { signal } = options;
      let last = options.after;
      let retryMs = options.retryMs ?? 3000;
      const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
      let failures = 0; // connection attempts in a row that did not get a stream
      while (!signal?.aborted) {
        let waitMs = retryMs;
        let opened = false;
        try {
          const r = await client.GET("/api/runtime/jobs:watch", {
            params: { query: filters },
            // The header, not ?after=: it wins over `after` and is what EventSource sends.
            headers: last !== undefined ? { "Last-Event-ID": last } : {},
            parseAs: "stream",
            signal,
          });
          const status = r.response.status;
          if (!r.response.ok || !r.data) {
            const err = new RtgwApiError(status, r.error);
            if ((status !== 429 && status < 500) || ++failures >= maxAttempts) throw err;
            const retryAfterS = Number(r.response.headers.get("retry-after"));
            if (retryAfterS > 0) waitMs = retryAfterS * 1000;
          } else {
            opened = true;
            failures = 0;
            for await (const m of parseSse(r.data, { onRetry: (ms) => (retryMs = ms) })) {
              if (m.event !== "job" || m.id === undefined) continue;
              last = m.id;
              yield { id: m.id, data: JSON.parse(m.data) as ProjectionUpdate };
            }
            waitMs = retryMs; // the server ended the stream (drain, restart): reconnect
          }
        } catch (e) {
          if (signal?.aborted || isAbort(e)) return;
          if (e instanceof RtgwApiError) throw e;
          // A network error: connecting, or while reading an opened stream.
          if (!opened && ++failures >= maxAttempts) throw e;
          waitMs = retryMs;
        }
        await sleep(waitMs, signal);
      }
    },
  };
}
