// The read model as the product UI calls it: app functions over the
// component's queries (a browser cannot call a component directly).
//
// They are public and do not check who asks: add the product's own access
// rule here (e.g. compare ctx.auth.getUserIdentity() with tenant_id) before
// exposing the deployment. `history` is what `rtgw conformance --convex-url`
// calls (module:function "rtgw:history").
import { components } from "./_generated/api";
import { query } from "./_generated/server";
import { byStatusArgs, byWorkspaceArgs, jobArgs } from "./components/rtgwProjection/validators";

const projections = components.rtgwProjection.projections;

/** The job's projection: its newest applied update, or null. */
export const job = query({
  args: jobArgs,
  handler: async (ctx, args) => await ctx.runQuery(projections.job, args),
});

/** A workspace's jobs, most recently updated first (usePaginatedQuery). */
export const byWorkspace = query({
  args: byWorkspaceArgs,
  handler: async (ctx, args) => await ctx.runQuery(projections.byWorkspace, args),
});

/** A workspace's jobs in one status, most recently updated first (usePaginatedQuery). */
export const byStatus = query({
  args: byStatusArgs,
  handler: async (ctx, args) => await ctx.runQuery(projections.byStatus, args),
});

/** The job's applied updates in the order they were applied. */
export const history = query({
  args: jobArgs,
  handler: async (ctx, args) => await ctx.runQuery(projections.history, args),
});
