// The rtgw projection receiver as a Convex component: its own tables (job
// projections, applied history, seen webhook-ids) behind its own functions.
// The app installs it (../../convex.config.ts) and mounts its HTTP route
// (client.ts, ../../http.ts).
import { defineComponent } from "convex/server";

const component = defineComponent("rtgwProjection");

export default component;
