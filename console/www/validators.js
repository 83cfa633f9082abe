// Validators: the tenant's validation runs, GET /api/runtime/validations (newest first, status
// and validator filters, keyset paging; docs/contracts/validator-callback.md "Listing runs"),
// each with its current execution's status. Read again every REFRESH_MS while on the first page.

import { describe } from "./api.js";
import { Pager, badge, cell, every, h, jobHref, link, message, replace, table, when } from "./dom.js";

const REFRESH_MS = 3000;
const STATUSES = ["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"];
const filters = { status: "", validator: "", limit: 50 };

function row(r) {
  const findings = Array.isArray(r.findings) ? `${r.findings.length} finding${r.findings.length === 1 ? "" : "s"}` : "";
  return h(
    "tr",
    { data: { runId: r.run_id, status: r.status } },
    cell("run-id", h("code", { text: r.run_id })),
    cell("validator", `${r.validator} ${r.version}`),
    cell("status", badge(r.status, r.status)),
    cell("attempt", String(r.attempt)),
    cell("launcher", r.launcher),
    cell("job", link(jobHref(r.job_id), r.job_id)),
    cell("workspace", r.workspace_id),
    cell("created", when(r.created_at)),
    cell("finished", when(r.finished_at)),
    cell("outcome", r.error ? h("span", { class: "error-text", text: r.error }) : findings),
  );
}

export function mount(el, { api }) {
  const status = h("p", { class: "message", hidden: true });
  const { table: grid, body } = table(
    ["Run", "Validator", "Status", "Attempt", "Launcher", "Job", "Workspace", "Created", "Finished", "Outcome"],
    "runs",
  );
  const empty = h("p", { class: "empty muted", text: "No validation run matches.", hidden: true });
  const pager = new Pager(() => load());
  const form = h(
    "form",
    { class: "filters", id: "run-filters" },
    h("label", {}, "Status",
      h("select", { name: "status" },
        h("option", { value: "", text: "any" }),
        STATUSES.map((s) => h("option", { value: s, selected: s === filters.status, text: s })))),
    h("label", {}, "Validator", h("input", { name: "validator", value: filters.validator, spellcheck: "false" })),
    h("div", { class: "actions" }, h("button", { type: "submit", text: "Apply" })),
  );
  el.append(
    h("div", { class: "page-head" }, h("h1", { text: "Validation runs" })),
    form,
    status,
    grid,
    empty,
    pager.el,
  );

  let stopped = false;
  let generation = 0;
  async function load() {
    const gen = ++generation;
    try {
      const r = await api.get("/api/runtime/validations", {
        status: filters.status,
        validator: filters.validator,
        limit: filters.limit,
        cursor: pager.cursor,
      });
      if (stopped || gen !== generation) return;
      message(status, "", "");
      replace(body, r.runs.map(row));
      empty.hidden = r.runs.length > 0;
      pager.shown(r.next_cursor);
    } catch (err) {
      if (stopped || gen !== generation) return;
      const text = err.status === 404
        ? `This gateway lists no validation runs: ${describe(err)}`
        : `Could not list the validation runs: ${describe(err)}`;
      message(status, "error", text);
    }
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = new FormData(form);
    filters.status = String(data.get("status") ?? "");
    filters.validator = String(data.get("validator") ?? "").trim();
    pager.reset();
    load();
  });
  const stopTimer = every(REFRESH_MS, () => pager.first && load());
  return {
    stop() {
      stopped = true;
      stopTimer();
    },
  };
}
