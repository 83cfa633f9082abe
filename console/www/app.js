// The operator console: sign-in and the page router. Pages are "#/nodes", "#/jobs",
// "#/jobs/<job_id>", "#/relay" and "#/validators"; each page module exports
// mount(element, { api, args }) and returns { stop() }, called when the page is left.
// Everything shown comes from rtgw's public API with the operator's token
// (docs/contracts/console.md).

import { Api, describe } from "./api.js";
import { message } from "./dom.js";
import * as jobs from "./jobs.js";
import * as nodes from "./nodes.js";
import * as relay from "./relay.js";
import * as validators from "./validators.js";

const TOKEN_KEY = "rtgw.console.token"; // sessionStorage only: gone when the tab closes
const PAGES = { nodes, jobs, relay, validators };
const DEFAULT_PAGE = "nodes";

const $ = (id) => document.getElementById(id);
let current = null; // the mounted page: { stop() }

/** The token's claims, for the header line only (the gateway verifies the token, not this). */
function claimsOf(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload));
  } catch {
    return {};
  }
}

function signOut(reason = "") {
  sessionStorage.removeItem(TOKEN_KEY);
  showSignIn(reason);
}

function makeApi(token) {
  return new Api(token, {
    onUnauthenticated: (err) =>
      signOut(`The gateway refused the token: ${err.describe()}. Sign in with a valid one.`),
  });
}

function showSignIn(reason = "") {
  if (current) current.stop();
  current = null;
  $("page").hidden = true;
  $("page").replaceChildren();
  $("nav").hidden = true;
  $("sign-out").hidden = true;
  $("who").textContent = "";
  $("sign-in").hidden = false;
  $("sign-in-button").disabled = false;
  message($("sign-in-error"), "error", reason);
  $("token").focus();
}

// Checks the token against the routes the console needs before keeping it: the node list
// (runtime:admin) and the job list (runtime:read). A wrong, expired or under-scoped token gets
// the API's own 401/403 error on the page.
async function signIn(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) return;
  $("sign-in-button").disabled = true;
  message($("sign-in-error"), "info", "Checking the token ...");
  const api = new Api(token);
  try {
    await api.get("/api/runtime/nodes");
    await api.get("/api/runtime/jobs", { limit: 1 });
  } catch (err) {
    $("sign-in-button").disabled = false;
    message($("sign-in-error"), "error", `Sign-in failed: ${describe(err)}`);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $("token").value = "";
  route();
}

function route() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) {
    showSignIn();
    return;
  }
  const [name, ...args] = window.location.hash.replace(/^#\/?/, "").split("/");
  if (!PAGES[name]) {
    window.location.hash = `#/${DEFAULT_PAGE}`;
    return;
  }
  if (current) current.stop();
  const claims = claimsOf(token);
  $("sign-in").hidden = true;
  $("nav").hidden = false;
  $("sign-out").hidden = false;
  $("who").textContent = `tenant ${claims.tenant_id ?? "?"} · ${claims.sub ?? "?"}`;
  for (const a of $("nav").querySelectorAll("a")) {
    a.classList.toggle("active", a.dataset.page === name);
  }
  const page = $("page");
  page.replaceChildren();
  page.hidden = false;
  page.dataset.page = name;
  current = PAGES[name].mount(page, {
    api: makeApi(token),
    args: args.map((a) => decodeURIComponent(a)),
  });
}

$("sign-in-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", () => signOut());
window.addEventListener("hashchange", route);
route();
