// Nodes: the tenant's management nodes, GET /api/runtime/nodes (runtime:admin), read again every
// REFRESH_MS: last heartbeat, executor, agent, Slurm version and partitions, stale marker.

import { describe } from "./api.js";
import { ago, badge, cell, every, h, message, replace, table, when } from "./dom.js";

const REFRESH_MS = 2000;

function partitions(list) {
  if (!list || list.length === 0) return h("span", { class: "muted", text: "none" });
  return h(
    "ul",
    { class: "partitions" },
    list.map((p) =>
      h(
        "li",
        { data: { partition: p.name } },
        h("span", { class: "partition-name", text: p.default ? `${p.name}*` : p.name }),
        " ",
        badge(p.state, p.state),
        p.max_time_minutes ? h("span", { class: "muted", text: ` ${p.max_time_minutes} min` }) : null,
        p.total_nodes !== undefined && p.total_nodes !== null
          ? h("span", { class: "muted", text: ` ${p.idle_nodes ?? "?"}/${p.total_nodes} nodes idle` })
          : null,
      ),
    ),
  );
}

function row(n) {
  return h(
    "tr",
    { data: { nodeId: n.node_id }, class: n.stale ? "is-stale" : "" },
    cell("node-id", h("code", { text: n.node_id })),
    cell("executor", n.executor),
    cell("agent-version", n.agent_version),
    cell(
      "last-seen",
      h("span", { text: when(n.last_seen) }),
      h("span", { class: "muted", text: ` (${ago(n.age_seconds)})` }),
    ),
    cell("stale", n.stale ? badge("stale", "stale") : badge("fresh", "ok")),
    cell("in-flight", String(n.in_flight)),
    cell("slurm-version", n.slurm_version ?? h("span", { class: "muted", text: "no Slurm" })),
    cell("partitions", partitions(n.partitions)),
  );
}

export function mount(el, { api }) {
  const summary = h("p", { class: "summary", id: "nodes-summary" });
  const status = h("p", { class: "message", hidden: true });
  const { table: grid, body } = table(
    ["Node", "Executor", "Agent", "Last heartbeat", "Heartbeat", "In flight", "Slurm", "Partitions"],
    "nodes",
  );
  const empty = h("p", {
    class: "empty muted",
    text: "No management node of this tenant has sent a heartbeat yet.",
    hidden: true,
  });
  el.append(
    h("div", { class: "page-head" }, h("h1", { text: "Management nodes" }),
      h("button", { type: "button", class: "secondary", on: { click: () => load() }, text: "Refresh" })),
    summary,
    status,
    grid,
    empty,
  );

  let stopped = false;
  async function load() {
    try {
      const r = await api.get("/api/runtime/nodes");
      if (stopped) return;
      replace(
        summary,
        `${r.nodes_total} node${r.nodes_total === 1 ? "" : "s"}, ${r.nodes_stale} stale `,
        h("span", { class: "muted", text: `(a heartbeat older than ${r.stale_after_seconds} s is stale)` }),
      );
      replace(body, r.nodes.map(row));
      empty.hidden = r.nodes.length > 0;
      message(status, "", "");
      status.dataset.updatedAt = new Date().toISOString();
    } catch (err) {
      if (!stopped) message(status, "error", `Could not read the nodes: ${describe(err)}`);
    }
  }
  const stopTimer = every(REFRESH_MS, load);
  return {
    stop() {
      stopped = true;
      stopTimer();
    },
  };
}
