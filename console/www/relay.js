// Relay: the projection relay's state from GET /api/health (checks.projection_relay: backlog,
// lag, consecutive failures, dead letters) and the tenant's dead letters
// (GET /api/runtime/projection/dead-letters, runtime:admin) with a replay button
// (POST .../dead-letters:replay). Read again every REFRESH_MS.

import { describe } from "./api.js";
import { badge, cell, every, h, jobHref, link, message, replace, table, when } from "./dom.js";

const REFRESH_MS = 3000;
const DEAD_LETTER_PAGE = 100;

function seconds(v) {
  if (v === undefined || v === null) return "";
  return `${Number(v).toFixed(v < 10 ? 1 : 0)} s`;
}

function stat(name, label, value, extra = "") {
  return h(
    "div",
    { class: `stat ${extra}`, data: { stat: name } },
    h("div", { class: "stat-label", text: label }),
    h("div", { class: "stat-value", text: value === undefined || value === null ? "–" : String(value) }),
  );
}

function renderRelay(el, health) {
  const relay = health.checks?.projection_relay;
  if (!relay) {
    replace(
      el,
      h("p", { class: "muted", id: "no-relay", text: "No projection relay runs in this gateway (rtgw serve without --projection-url); it may run as rtgw relay run elsewhere." }),
    );
    return;
  }
  replace(
    el,
    h(
      "div",
      { class: "relay-head" },
      badge(relay.status, relay.status),
      relay.sink ? h("span", {}, " delivering to ", h("code", { text: relay.sink })) : null,
      relay.reason ? h("p", { class: "muted reason", text: relay.reason }) : null,
    ),
    h(
      "div",
      { class: "stats" },
      stat("backlog", "Backlog (undelivered)", relay.backlog, relay.backlog > 0 ? "warn" : ""),
      stat("lag", "Oldest undelivered (lag)", seconds(relay.oldest_undelivered_seconds ?? 0)),
      stat("consecutive_failures", "Consecutive failures", relay.consecutive_failures, relay.consecutive_failures > 0 ? "bad" : ""),
      stat("dead_letters", "Dead letters (all tenants)", relay.dead_letters, relay.dead_letters > 0 ? "bad" : ""),
      stat("delivered_total", "Delivered", relay.delivered_total),
      stat("failed_attempts_total", "Failed attempts", relay.failed_attempts_total),
      stat("in_flight", "In flight", relay.in_flight),
      stat("last_delivery_at", "Last delivery", when(relay.last_delivery_at) || "never"),
    ),
    relay.last_error ? h("p", { class: "muted" }, "Last error: ", h("code", { text: relay.last_error })) : null,
  );
}

export function mount(el, { api }) {
  const relayBox = h("div", { class: "relay", id: "relay-state" });
  const status = h("p", { class: "message", hidden: true, id: "relay-message" });
  const { table: grid, body } = table(
    ["Id", "Job", "Version", "Status", "Attempts", "Last error", "Dead since", ""],
    "dead-letters",
  );
  const empty = h("p", { class: "empty muted", id: "no-dead-letters", text: "No dead letter in this tenant.", hidden: true });
  el.append(
    h("div", { class: "page-head" }, h("h1", { text: "Projection relay" }),
      h("button", { type: "button", class: "secondary", on: { click: () => load() }, text: "Refresh" })),
    relayBox,
    status,
    h("h2", { text: "Dead letters" }),
    h("p", { class: "muted", text: "ProjectionUpdates of this tenant the relay gave up on, oldest first. Replay makes one deliverable again; the job's later updates wait behind it." }),
    grid,
    empty,
  );

  let stopped = false;
  async function replay(id, button) {
    button.disabled = true;
    try {
      await api.post("/api/runtime/projection/dead-letters:replay", { id });
      message(status, "ok", `Dead letter ${id} is queued for delivery again.`);
    } catch (err) {
      message(status, "error", `Replay of dead letter ${id} failed: ${describe(err)}`);
      button.disabled = false;
    }
    load();
  }

  function row(d) {
    const button = h("button", { type: "button", class: "replay", text: "Replay" });
    button.addEventListener("click", () => replay(d.id, button));
    return h(
      "tr",
      { data: { deadLetterId: d.id, jobId: d.job_id } },
      cell("id", String(d.id)),
      cell("job", link(jobHref(d.job_id), d.job_id)),
      cell("version", String(d.projection_version)),
      cell("status", badge(d.payload?.status ?? "", d.payload?.status ?? "")),
      cell("attempts", String(d.attempts)),
      cell("last-error", h("code", { text: d.last_error ?? "" })),
      cell("dead-at", when(d.dead_at)),
      cell("action", button),
    );
  }

  async function load() {
    const [health, dead] = await Promise.allSettled([
      api.get("/api/health"),
      api.get("/api/runtime/projection/dead-letters", { limit: DEAD_LETTER_PAGE }),
    ]);
    if (stopped) return;
    if (health.status === "fulfilled") renderRelay(relayBox, health.value);
    else replace(relayBox, h("p", { class: "message error", text: `Could not read /api/health: ${describe(health.reason)}` }));
    if (dead.status === "fulfilled") {
      const letters = dead.value.dead_letters;
      replace(body, letters.map(row));
      empty.hidden = letters.length > 0;
    } else {
      message(status, "error", `Could not list the dead letters: ${describe(dead.reason)}`);
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
