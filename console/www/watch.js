// The job watch stream, GET /api/runtime/jobs:watch (docs/contracts/http-api.md "Watching
// jobs"), read with fetch() and a ReadableStream: EventSource cannot send the Authorization
// header. Server-Sent Events are parsed as WHATWG HTML section 9.2 says; a dropped stream is
// resumed from the last event id it delivered (Last-Event-ID), so no change is missed or seen
// twice.

import { Api, ApiError, errorOf } from "./api.js";

/** Incremental text/event-stream parser: push() text chunks, get the complete events. */
export class EventStreamParser {
  constructor() {
    this.buffer = "";
    this.data = [];
    this.type = "";
    this.lastEventId = "";
    this.retryMs = null;
    this.pendingCr = false;
  }

  /** Feeds decoded text; returns the events it completed: [{ type, data, id }]. */
  push(text) {
    const events = [];
    let chunk = text;
    // A CR ending the previous chunk may be the first half of a CRLF.
    if (this.pendingCr && chunk.startsWith("\n")) chunk = chunk.slice(1);
    this.pendingCr = false;
    this.buffer += chunk;
    for (;;) {
      const end = this.buffer.search(/[\r\n]/);
      if (end < 0) break;
      const line = this.buffer.slice(0, end);
      let next = end + 1;
      if (this.buffer[end] === "\r") {
        if (end + 1 === this.buffer.length) this.pendingCr = true;
        else if (this.buffer[end + 1] === "\n") next = end + 2;
      }
      this.buffer = this.buffer.slice(next);
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  line(line) {
    if (line === "") {
      // Dispatch: an event needs data (an empty block, or one of comments only, is nothing).
      const event = this.data.length
        ? { type: this.type || "message", data: this.data.join("\n"), id: this.lastEventId }
        : null;
      this.data = [];
      this.type = "";
      return event;
    }
    if (line.startsWith(":")) return null; // a comment (": keepalive")
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.type = value;
    else if (field === "id" && !value.includes("\0")) this.lastEventId = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.retryMs = Number(value);
    return null;
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

/**
 * Watches the tenant's job changes until `signal` aborts.
 *   query       the watch's filters (workspace_id, job_id (array), management_node_id)
 *   after       a change cursor to start after (a list's watch_from); none: from now on
 *   onChange    (ProjectionUpdate, id) for each change, in commit order
 *   onState     ({ state: "connecting"|"live"|"reconnecting"|"stopped", error? })
 * It reconnects after the stream's retry interval (3 s) with the last id it received. It stops
 * (state "stopped", with the ApiError) when the gateway refuses the watch for a reason a retry
 * does not cure: 400, 401, 403, 404, or 410 cursor_expired (list again, then watch again).
 */
export async function watchJobs(api, { query = {}, after = "", onChange, onState, signal }) {
  let cursor = after;
  let retryMs = 3000;
  while (!signal.aborted) {
    onState({ state: "connecting" });
    try {
      const headers = api.headers({ accept: "text/event-stream" });
      if (cursor) headers["last-event-id"] = cursor;
      const res = await api.fetch(Api.url("/api/runtime/jobs:watch", query), {
        headers,
        signal,
      });
      if (!res.ok) {
        const err = api.failed(await errorOf(res));
        if ([400, 401, 403, 404, 410].includes(err.status)) {
          onState({ state: "stopped", error: err });
          return;
        }
        throw err;
      }
      onState({ state: "live" });
      const parser = new EventStreamParser();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const event of parser.push(value)) {
          if (event.id) cursor = event.id;
          if (event.type === "job") onChange(JSON.parse(event.data), event.id);
        }
        if (parser.retryMs !== null) retryMs = parser.retryMs;
      }
      if (!signal.aborted) onState({ state: "reconnecting" });
    } catch (err) {
      if (signal.aborted) break;
      onState({
        state: "reconnecting",
        error: err instanceof ApiError ? err : new ApiError(0, "network", err.message),
      });
    }
    await sleep(retryMs, signal);
  }
  onState({ state: "stopped" });
}
