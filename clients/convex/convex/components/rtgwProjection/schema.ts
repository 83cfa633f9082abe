// Tables of the rtgw projection receiver (docs/contracts/projection-update.md
// in the rtgw repository describes the updates they are made from).
import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { appliedFields, jobFields } from "./validators";

export default defineSchema({
  // One row per job: the read model the product UI shows.
  jobs: defineTable(jobFields)
    .index("by_job", ["tenant_id", "job_id"])
    .index("by_workspace", ["tenant_id", "workspace_id", "updated_at"])
    .index("by_workspace_status", ["tenant_id", "workspace_id", "status", "updated_at"]),

  // Every update that was applied, in the order it was applied (index order
  // within a job is insertion order: Convex breaks index ties by
  // _creationTime). A correct receiver's history of a job is exactly the
  // versions 1, 2, ..., n the gateway served; rtgw conformance gate 6 checks it.
  applied: defineTable({ tenant_id: v.string(), job_id: v.string(), ...appliedFields }).index(
    "by_job",
    ["tenant_id", "job_id"],
  ),

  // Each webhook-id seen once, with what was done with it: a redelivery of
  // the same update is answered from here without touching the projection.
  deliveries: defineTable({
    webhook_id: v.string(),
    tenant_id: v.string(),
    job_id: v.string(),
    projection_version: v.number(),
    outcome: v.union(v.literal("applied"), v.literal("stale")),
    received_at: v.number(),
  })
    .index("by_webhook_id", ["webhook_id"])
    .index("by_received_at", ["received_at"]),
});
