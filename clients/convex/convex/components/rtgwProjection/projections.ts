// The receiver's functions. They are the component's API: only the app that
// installed the component can call them (never a browser client); the app
// exposes what it wants through its own functions (../../rtgw.ts).
import { paginationResultValidator } from "convex/server";
import { v } from "convex/values";
import { mutation, query } from "./_generated/server";
import type { Doc } from "./_generated/dataModel";
import {
  appliedFields,
  byStatusArgs,
  byWorkspaceArgs,
  jobArgs,
  jobFields,
  updateValidator,
} from "./validators";

const outcomeValidator = v.union(v.literal("applied"), v.literal("stale"), v.literal("duplicate"));

/**
 * Applies one verified update, in one transaction:
 * - a webhook-id seen before: nothing changes, outcome "duplicate";
 * - projection_version <= the stored one: nothing changes but the webhook-id
 *   is remembered, outcome "stale" (a late or replayed older update);
 * - else the job's row becomes this update, the update is appended to the
 *   applied history, outcome "applied".
 * `stored_version` is the job's version after the call.
 */
export const apply = mutation({
  args: { webhook_id: v.string(), update: updateValidator },
  returns: v.object({ outcome: outcomeValidator, stored_version: v.number() }),
  handler: async (ctx, { webhook_id, update }) => {
    const seen = await ctx.db
      .query("deliveries")
      .withIndex("by_webhook_id", (q) => q.eq("webhook_id", webhook_id))
      .unique();
    const current = await ctx.db
      .query("jobs")
      .withIndex("by_job", (q) => q.eq("tenant_id", update.tenant_id).eq("job_id", update.job_id))
      .unique();
    const storedVersion = current?.projection_version ?? 0;
    if (seen !== null) return { outcome: "duplicate" as const, stored_version: storedVersion };
    const now = Date.now();
    const base = {
      webhook_id,
      tenant_id: update.tenant_id,
      job_id: update.job_id,
      projection_version: update.projection_version,
      received_at: now,
    };
    if (update.projection_version <= storedVersion) {
      await ctx.db.insert("deliveries", { ...base, outcome: "stale" });
      return { outcome: "stale" as const, stored_version: storedVersion };
    }
    const row = { ...update, updated_at: now };
    if (current === null) {
      await ctx.db.insert("jobs", row);
    } else {
      await ctx.db.replace("jobs", current._id, row);
    }
    await ctx.db.insert("applied", {
      tenant_id: update.tenant_id,
      job_id: update.job_id,
      projection_version: update.projection_version,
      status: update.status,
      state: update.state,
      occurred_at: update.occurred_at,
      webhook_id,
      applied_at: now,
    });
    await ctx.db.insert("deliveries", { ...base, outcome: "applied" });
    return { outcome: "applied" as const, stored_version: update.projection_version };
  },
});

export const jobValidator = v.object(jobFields);

// The row without its document id and creation time (ids of a component's
// tables mean nothing outside it).
function jobView({ _id, _creationTime, ...job }: Doc<"jobs">) {
  return job;
}

/** The job's projection (its newest applied update), or null. */
export const job = query({
  args: jobArgs,
  returns: v.union(jobValidator, v.null()),
  handler: async (ctx, { tenant_id, job_id }) => {
    const row = await ctx.db
      .query("jobs")
      .withIndex("by_job", (q) => q.eq("tenant_id", tenant_id).eq("job_id", job_id))
      .unique();
    return row === null ? null : jobView(row);
  },
});

/** A workspace's jobs, most recently updated first, one page at a time. */
export const byWorkspace = query({
  args: byWorkspaceArgs,
  returns: paginationResultValidator(jobValidator),
  handler: async (ctx, { tenant_id, workspace_id, paginationOpts }) => {
    const page = await ctx.db
      .query("jobs")
      .withIndex("by_workspace", (q) => q.eq("tenant_id", tenant_id).eq("workspace_id", workspace_id))
      .order("desc")
      .paginate(paginationOpts);
    return { ...page, page: page.page.map(jobView) };
  },
});

/** A workspace's jobs in one status, most recently updated first, one page at a time. */
export const byStatus = query({
  args: byStatusArgs,
  returns: paginationResultValidator(jobValidator),
  handler: async (ctx, { tenant_id, workspace_id, status, paginationOpts }) => {
    const page = await ctx.db
      .query("jobs")
      .withIndex("by_workspace_status", (q) =>
        q.eq("tenant_id", tenant_id).eq("workspace_id", workspace_id).eq("status", status),
      )
      .order("desc")
      .paginate(paginationOpts);
    return { ...page, page: page.page.map(jobView) };
  },
});

// A job has one update per state change (a handful); the bound only stops a
// runaway job from making the query unbounded.
const HISTORY_LIMIT = 1000;

export const appliedValidator = v.object(appliedFields);

/**
 * The job's applied updates in the order they were applied (at most 1000).
 * For a correct receiver the versions ascend strictly: 1, 2, ..., n.
 */
export const history = query({
  args: jobArgs,
  returns: v.array(appliedValidator),
  handler: async (ctx, { tenant_id, job_id }) => {
    const rows = await ctx.db
      .query("applied")
      .withIndex("by_job", (q) => q.eq("tenant_id", tenant_id).eq("job_id", job_id))
      .take(HISTORY_LIMIT);
    return rows.map(({ projection_version, status, state, occurred_at, webhook_id, applied_at }) => ({
      projection_version,
      status,
      state,
      occurred_at,
      webhook_id,
      applied_at,
    }));
  },
});

/**
 * Forgets webhook-ids received before `before` (ms since epoch), at most
 * `limit` (<= 1000) per call; returns how many. Safe at any age: a
 * redelivery of a forgotten id meets the version check and is "stale".
 * Call it from the app's crons (README).
 */
export const pruneDeliveries = mutation({
  args: { before: v.number(), limit: v.optional(v.number()) },
  returns: v.number(),
  handler: async (ctx, { before, limit }) => {
    const rows = await ctx.db
      .query("deliveries")
      .withIndex("by_received_at", (q) => q.lt("received_at", before))
      .take(Math.max(1, Math.min(limit ?? 1000, 1000)));
    for (const row of rows) await ctx.db.delete("deliveries", row._id);
    return rows.length;
  },
});
