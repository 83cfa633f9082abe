// Jobs: the list (GET /api/runtime/jobs: filters, keyset paging) kept live by the watch stream
// from the list's watch_from, so list-then-watch misses nothing (docs/contracts/http-api.md
// "Listing jobs", "Watching jobs"); and one job's detail (GET .../detail: its fields, the Slurm
// adapter boundary record and its events in arrival order), re-read on each of its changes.

import { describe } from "./api.js";
import { Pager, badge, cell, h, jobHref, json, link, message, replace, table, when } from "./dom.js";
import { watchJobs } from "./watch.js";

const STATES = ["submitted", "queued", "running", "completed", "failed", "cancelled"];
const LIMITS = [20, 50, 100, 500];

// The list's filters survive a visit to a job's detail (module state, this tab only).
const filters = { state: [], workspace_id: "", management_node_id: "", requested_by: "", updated_after: "", limit: 50 };

export function mount(el, { api, args }) {
  return args[0] ? mountDetail(el, api, args[0]) : mountList(el, api);
}

function liveIndicator() {
  const el = h("span", { class: "live", id: "live", data: { state: "connecting" }, text: "connecting" });
  let changes = 0;
  return {
    el,
    state({ state, error }) {
      el.dataset.state = state;
      const text = { connecting: "connecting ...", live: "live", reconnecting: "reconnecting ...", stopped: "stopped" }[state];
      el.textContent = error ? `${text}: ${describe(error)}` : text;
      if (state === "live" && changes) el.textContent = `live · ${changes} change${changes === 1 ? "" : "s"}`;
    },
    changed() {
      changes += 1;
      el.dataset.changes = String(changes);
      if (el.dataset.state === "live") el.textContent = `live · ${changes} change${changes === 1 ? "" : "s"}`;
    },
  };
}

// ---- list ---------------------------------------------------------------------------------

function listQuery(cursor) {
  return {
    state: filters.state.join(","),
    workspace_id: filters.workspace_id,
    management_node_id: filters.management_node_id,
    requested_by: filters.requested_by,
    updated_after: filters.updated_after ? new Date(filters.updated_after).toISOString() : "",
    limit: filters.limit,
    cursor,
  };
}

// Whether a job (as GET /api/runtime/jobs/{id} returns it) passes the filters the watch cannot
// apply itself (state, requested_by, updated_after).
function matchesFilters(job) {
  if (filters.state.length && !filters.state.includes(job.state)) return false;
  if (filters.workspace_id && job.workspace_id !== filters.workspace_id) return false;
  if (filters.management_node_id && job.management_node_id !== filters.management_node_id) return false;
  if (filters.requested_by && job.requested_by?.user_id !== filters.requested_by) return false;
  if (filters.updated_after && !(new Date(job.updated_at) > new Date(filters.updated_after))) return false;
  return true;
}

function jobRow(job) {
  return h(
    "tr",
    {
      data: { jobId: job.job_id, version: job.projection_version, acceptedAt: job.accepted_at },
    },
    cell("job-id", link(jobHref(job.job_id), job.job_id)),
    cell("status", badge(statusOf(job.state), statusOf(job.state))),
    cell("state", job.state),
    cell("version", String(job.projection_version)),
    cell("workspace", job.workspace_id),
    cell("node", job.management_node_id),
    cell("requested-by", job.requested_by?.user_id ?? ""),
    cell("accepted", when(job.accepted_at)),
    cell("updated", when(job.updated_at)),
  );
}

// The app-facing status of a job state (projection-update.md).
function statusOf(state) {
  return { submitted: "queued", queued: "queued", running: "running", completed: "finished", failed: "failed", cancelled: "cancelled" }[state] ?? state;
}

// Applies a ProjectionUpdate to a row when it is newer than what the row shows.
function applyUpdate(tr, u) {
  if (Number(tr.dataset.version) >= u.projection_version) return;
  tr.dataset.version = String(u.projection_version);
  replace(tr.querySelector(".status"), badge(u.status, u.status));
  tr.querySelector(".state").textContent = u.state;
  tr.querySelector(".version").textContent = String(u.projection_version);
  tr.querySelector(".updated").textContent = when(u.occurred_at);
  tr.classList.toggle("off-filter", filters.state.length > 0 && !filters.state.includes(u.state));
  tr.title = tr.classList.contains("off-filter") ? "no longer matches the state filter" : "";
  tr.classList.remove("changed");
  void tr.offsetWidth; // restart the highlight animation
  tr.classList.add("changed");
}

function filterForm(onApply) {
  const input = (name, label, type = "text") =>
    h("label", {}, label, h("input", { name, type, value: filters[name], spellcheck: "false" }));
  const form = h(
    "form",
    { class: "filters", id: "job-filters" },
    h(
      "fieldset",
      { class: "states" },
      h("legend", { text: "State" }),
      STATES.map((s) =>
        h("label", { class: "check" }, h("input", { type: "checkbox", name: "state", value: s, checked: filters.state.includes(s) }), s),
      ),
    ),
    input("workspace_id", "Workspace"),
    input("management_node_id", "Management node"),
    input("requested_by", "Requested by"),
    input("updated_after", "Updated after", "datetime-local"),
    h(
      "label",
      {},
      "Page size",
      h("select", { name: "limit" }, LIMITS.map((n) => h("option", { value: n, selected: n === filters.limit, text: String(n) }))),
    ),
    h("div", { class: "actions" },
      h("button", { type: "submit", text: "Apply" }),
      h("button", { type: "reset", class: "secondary", text: "Clear" })),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = new FormData(form);
    filters.state = data.getAll("state");
    for (const k of ["workspace_id", "management_node_id", "requested_by", "updated_after"]) {
      filters[k] = String(data.get(k) ?? "").trim();
    }
    filters.limit = Number(data.get("limit")) || 50;
    onApply();
  });
  form.addEventListener("reset", (e) => {
    // The fields' defaults are the filters they were drawn with: clear them by hand instead.
    e.preventDefault();
    for (const input of form.querySelectorAll("input")) {
      if (input.type === "checkbox") input.checked = false;
      else input.value = "";
    }
    form.querySelector("select").value = "50";
    form.requestSubmit();
  });
  return form;
}

function mountList(el, api) {
  const live = liveIndicator();
  const status = h("p", { class: "message", hidden: true });
  const { table: grid, body } = table(
    ["Job", "Status", "State", "Version", "Workspace", "Node", "Requested by", "Accepted", "Updated"],
    "jobs",
  );
  const empty = h("p", { class: "empty muted", text: "No job matches.", hidden: true });
  const pager = new Pager(() => start());
  el.append(
    h("div", { class: "page-head" }, h("h1", { text: "Jobs" }), live.el),
    filterForm(() => {
      pager.reset();
      start();
    }),
    status,
    grid,
    empty,
    pager.el,
  );

  let watch = null; // AbortController of the running watch
  const pending = new Map(); // job_id -> newest update seen while its row is being fetched
  let generation = 0; // a list read newer than a fetch makes that fetch's result stale

  async function start() {
    const gen = ++generation;
    if (watch) watch.abort();
    watch = null;
    pending.clear();
    let page;
    try {
      page = await api.get("/api/runtime/jobs", listQuery(pager.cursor));
    } catch (err) {
      if (gen === generation) message(status, "error", `Could not list the jobs: ${describe(err)}`);
      return;
    }
    if (gen !== generation) return;
    message(status, "", "");
    replace(body, page.jobs.map(jobRow));
    empty.hidden = page.jobs.length > 0;
    pager.shown(page.next_cursor);
    watch = new AbortController();
    watchJobs(api, {
      query: { workspace_id: filters.workspace_id, management_node_id: filters.management_node_id },
      after: page.watch_from,
      signal: watch.signal,
      onState: (s) => {
        live.state(s);
        // The changes after the list's position were removed: list again, watch from there.
        if (s.state === "stopped" && s.error?.status === 410 && gen === generation) start();
      },
      onChange: (u) => {
        if (gen !== generation) return;
        live.changed();
        onChange(u, gen);
      },
    });
  }

  function onChange(u, gen) {
    const tr = body.querySelector(`tr[data-job-id="${CSS.escape(u.job_id)}"]`);
    if (tr) {
      applyUpdate(tr, u);
      return;
    }
    // A job this page does not show: only the first page takes new rows (later pages are
    // older submissions, fixed by their cursor).
    if (!pager.first) return;
    if (pending.has(u.job_id)) {
      const seen = pending.get(u.job_id);
      if (!seen || seen.projection_version < u.projection_version) pending.set(u.job_id, u);
      return;
    }
    pending.set(u.job_id, null);
    api.get(`/api/runtime/jobs/${encodeURIComponent(u.job_id)}`).then(
      (job) => insert(job, gen),
      () => pending.delete(u.job_id),
    );
  }

  // Puts a job fetched after a change into its place (newest submission first), if it matches.
  function insert(job, gen) {
    const later = pending.get(job.job_id);
    pending.delete(job.job_id);
    if (gen !== generation) return;
    // It changed again while it was read: read it again (it may match the filters only now).
    if (later && later.projection_version > job.projection_version) {
      onChange(later, gen);
      return;
    }
    if (!matchesFilters(job)) return;
    if (body.querySelector(`tr[data-job-id="${CSS.escape(job.job_id)}"]`)) return;
    const rows = [...body.children];
    const key = (accepted, id) => `${accepted}\u0000${id}`;
    const mine = key(job.accepted_at, job.job_id);
    const before = rows.find((r) => key(r.dataset.acceptedAt, r.dataset.jobId) < mine);
    if (!before && rows.length >= filters.limit) return; // older than everything on a full page
    const tr = jobRow(job);
    body.insertBefore(tr, before ?? null);
    empty.hidden = true;
    tr.classList.add("changed");
  }

  start();
  return {
    stop() {
      generation += 1;
      if (watch) watch.abort();
    },
  };
}

// ---- detail -------------------------------------------------------------------------------

function field(label, value) {
  return [h("dt", { text: label }), h("dd", {}, value ?? h("span", { class: "muted", text: "none" }))];
}

function actor(a) {
  if (!a) return h("span", { class: "muted", text: "unknown" });
  return a.node_id ? `${a.sub} (node ${a.node_id})` : a.sub;
}

function renderDetail(el, d) {
  const { table: history, body } = table(
    ["Seq", "State", "Applied", "Occurred", "Received", "Execution", "Event", "Actor", "Trace"],
    "history",
  );
  for (const e of d.events) {
    body.append(
      h(
        "tr",
        { data: { seq: e.seq }, class: e.applied ? "" : "not-applied" },
        cell("seq", String(e.seq)),
        cell("state", badge(e.state, e.state)),
        cell("applied", e.applied ? "yes" : "no (did not move the state)"),
        cell("occurred", e.occurred_at),
        cell("received", when(e.received_at)),
        cell("execution", e.execution_id),
        cell("event-id", h("code", { text: e.event_id })),
        cell("actor", actor(e.actor)),
        cell("trace", h("code", { text: e.trace_id })),
      ),
    );
  }
  replace(
    el,
    h(
      "div",
      { class: "detail-grid" },
      h(
        "dl",
        { class: "fields" },
        field("Status", h("span", { class: "job-status" }, badge(statusOf(d.state), statusOf(d.state)), ` ${d.state}`)),
        field("Projection version", String(d.projection_version)),
        field("Tenant", d.tenant_id),
        field("Workspace", d.workspace_id),
        field("Submission", h("code", { text: d.submission_id })),
        field("Management node", d.management_node_id),
        field("Requested by", d.requested_by?.user_id),
        field("Submitted by", d.submitted_by ? d.submitted_by.sub : null),
        field("Accepted", when(d.accepted_at)),
        field("Updated", when(d.updated_at)),
        field("Trace", h("code", { text: d.trace_id })),
      ),
      h(
        "div",
        {},
        h("h2", { text: "Execution profile and resources" }),
        json({ execution_profile: d.execution_profile, resource_shape: d.resource_shape, payload_ref: d.payload_ref }),
        h("h2", { text: "Result" }),
        json(d.result_ref || d.error ? { result_ref: d.result_ref, error: d.error } : null),
      ),
    ),
    h("h2", { text: "Slurm adapter boundary record" }),
    h("div", { class: "boundary" }, json(d.slurm_adapter)),
    h("h2", { text: `History (${d.events.length} event${d.events.length === 1 ? "" : "s"}, in arrival order)` }),
    d.events.length ? history : h("p", { class: "muted", text: "No event yet." }),
  );
}

function mountDetail(el, api, jobId) {
  const live = liveIndicator();
  const status = h("p", { class: "message", hidden: true });
  const content = h("div", { class: "detail", id: "job-detail" });
  el.append(
    h("p", {}, link("#/jobs", "← All jobs")),
    h("div", { class: "page-head" }, h("h1", {}, "Job ", h("code", { text: jobId })), live.el),
    status,
    content,
  );
  let stopped = false;
  let reading = null; // the detail read in progress; a change meanwhile reads again after it
  let again = false;
  async function load() {
    if (reading) {
      again = true;
      return;
    }
    reading = (async () => {
      do {
        again = false;
        try {
          const d = await api.get(`/api/runtime/jobs/${encodeURIComponent(jobId)}/detail`);
          if (stopped) return;
          message(status, "", "");
          renderDetail(content, d);
        } catch (err) {
          if (!stopped) message(status, "error", `Could not read the job: ${describe(err)}`);
        }
      } while (again && !stopped);
    })();
    await reading;
    reading = null;
  }
  // Watch first (from now on), read once the stream is live: no change falls in between.
  const watch = new AbortController();
  watchJobs(api, {
    query: { job_id: [jobId] },
    signal: watch.signal,
    onState: (s) => {
      live.state(s);
      if (s.state === "live" || (s.state === "stopped" && s.error)) load();
    },
    onChange: () => {
      live.changed();
      load();
    },
  });
  return {
    stop() {
      stopped = true;
      watch.abort();
    },
  };
}
