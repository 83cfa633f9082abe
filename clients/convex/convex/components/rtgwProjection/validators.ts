// The shapes the receiver stores and its functions take, shared by the
// schema, the component's functions and the app's wrappers (../../rtgw.ts).
import { paginationOptsValidator } from "convex/server";
import { v } from "convex/values";

// Gateway state -> app-facing status, as the contract's table.
export const statusValidator = v.union(
  v.literal("queued"),
  v.literal("running"),
  v.literal("finished"),
  v.literal("failed"),
  v.literal("cancelled"),
);
export const stateValidator = v.union(
  v.literal("submitted"),
  v.literal("queued"),
  v.literal("running"),
  v.literal("completed"),
  v.literal("failed"),
  v.literal("cancelled"),
);

// The ProjectionUpdate fields the read model keeps (a newer gateway may send
// more; they are ignored).
export const updateFields = {
  tenant_id: v.string(),
  workspace_id: v.string(),
  job_id: v.string(),
  submission_id: v.string(),
  status: statusValidator,
  state: stateValidator,
  projection_version: v.number(),
  occurred_at: v.string(),
  trace_id: v.optional(v.string()),
  result_ref: v.optional(v.any()),
  error: v.optional(v.any()),
};

export const updateValidator = v.object(updateFields);

// A job's row: its newest applied update, and when this receiver applied it
// (ms since epoch).
export const jobFields = { ...updateFields, updated_at: v.number() };

// One applied update of a job, as `history` returns it.
export const appliedFields = {
  projection_version: v.number(),
  status: statusValidator,
  state: stateValidator,
  occurred_at: v.string(),
  webhook_id: v.string(),
  applied_at: v.number(),
};

// Arguments of the queries, which the app's wrappers take as they are.
export const jobArgs = { tenant_id: v.string(), job_id: v.string() };
export const byWorkspaceArgs = {
  tenant_id: v.string(),
  workspace_id: v.string(),
  paginationOpts: paginationOptsValidator,
};
export const byStatusArgs = { ...byWorkspaceArgs, status: statusValidator };
