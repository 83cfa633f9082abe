// The console's client of rtgw's public API (docs/contracts/http-api.md): every call carries the
// operator's bearer token; an error answer becomes an ApiError with the API's own code and
// message ({"error": {"code", "message", "trace_id"}}).

export class ApiError extends Error {
  constructor(status, code, message, traceId = "") {
    super(message);
    this.name = "ApiError";
    this.status = status; // HTTP status; 0 when the gateway could not be reached
    this.code = code;
    this.traceId = traceId;
  }

  /** "401 unauthenticated: invalid bearer token: token expired (trace 4bf9...)". */
  describe() {
    const where = this.status ? `${this.status} ${this.code}` : this.code;
    return `${where}: ${this.message}${this.traceId ? ` (trace ${this.traceId})` : ""}`;
  }
}

/** The ApiError of a non-2xx response (its JSON error body, or what the status says). */
export async function errorOf(res) {
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: the status alone
  }
  const e = body && body.error;
  if (e && typeof e.code === "string") {
    return new ApiError(res.status, e.code, String(e.message ?? ""), String(e.trace_id ?? ""));
  }
  return new ApiError(res.status, "http_error", res.statusText || "request failed");
}

/** Text for any error a page shows. */
export function describe(err) {
  if (err instanceof ApiError) return err.describe();
  return `${err && err.name ? `${err.name}: ` : ""}${err && err.message ? err.message : err}`;
}

export class Api {
  /**
   * `token`: the bearer token. `onUnauthenticated(err)`: called on every 401 (a token that
   * expired or was revoked while the console was open), so the app can ask for a new one.
   */
  constructor(token, { onUnauthenticated = () => {} } = {}) {
    this.token = token;
    this.onUnauthenticated = onUnauthenticated;
  }

  headers(extra = {}) {
    return { authorization: `Bearer ${this.token}`, ...extra };
  }

  /** A same-origin URL with the query parameters that have a value (arrays: repeated). */
  static url(path, query = {}) {
    const url = new URL(path, window.location.origin);
    for (const [k, v] of Object.entries(query)) {
      for (const one of Array.isArray(v) ? v : [v]) {
        if (one !== undefined && one !== null && one !== "") url.searchParams.append(k, String(one));
      }
    }
    return url;
  }

  /** fetch() that turns a failure to connect into ApiError(0, "network"). */
  async fetch(url, init) {
    try {
      return await fetch(url, { cache: "no-store", credentials: "omit", ...init });
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw new ApiError(0, "network", `cannot reach the gateway (${err.message})`);
    }
  }

  async request(method, path, { query, body, signal } = {}) {
    const init = { method, headers: this.headers(), signal };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await this.fetch(Api.url(path, query), init);
    if (!res.ok) throw this.failed(await errorOf(res));
    return res.json();
  }

  /** Reports a 401 to onUnauthenticated; returns the error to throw. */
  failed(err) {
    if (err.status === 401) this.onUnauthenticated(err);
    return err;
  }

  get(path, query, signal) {
    return this.request("GET", path, { query, signal });
  }

  post(path, body) {
    return this.request("POST", path, { body });
  }
}
