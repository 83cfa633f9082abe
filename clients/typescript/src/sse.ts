// A Server-Sent Events parser (WHATWG HTML, "Parsing an event stream") over a
// fetch response body, for GET /api/runtime/jobs:watch. Node's fetch has no
// EventSource, and EventSource cannot send an Authorization header anyway.

/** One dispatched event, or a `retry:` field (`retryMs`) seen on the way. */
export interface SseMessage {
  /** The last `id:` seen (the stream's last event id), undefined before any. */
  id?: string;
  /** `event:` of this event, "message" when it had none. */
  event: string;
  /** The event's `data:` lines joined with "\n". */
  data: string;
}

export interface SseHandlers {
  /** Called for every `retry:` field with its value in milliseconds. */
  onRetry?: (ms: number) => void;
}

/**
 * Yields the events of `body` in order; returns when the body ends (the
 * server closed the stream). Comments (`: keepalive`) are skipped; an event
 * without data is not dispatched, as in browsers. Throws what reading the
 * body throws (a dropped connection, an abort).
 */
export async function* parseSse(
  body: ReadableStream<Uint8Array>,
  handlers: SseHandlers = {},
): AsyncGenerator<SseMessage, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let lastId: string | undefined;
  let event = "";
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (;;) {
        const end = buffer.search(/\r\n|\r|\n/);
        // A lone CR at the end may be the first half of a CRLF: wait for more.
        if (end < 0 || (end === buffer.length - 1 && buffer[end] === "\r")) break;
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + (buffer.startsWith("\r\n", end) ? 2 : 1));
        if (line === "") {
          if (data.length > 0) yield { id: lastId, event: event || "message", data: data.join("\n") };
          event = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let val = colon < 0 ? "" : line.slice(colon + 1);
        if (val.startsWith(" ")) val = val.slice(1);
        if (field === "data") data.push(val);
        else if (field === "event") event = val;
        else if (field === "id" && !val.includes("\0")) lastId = val;
        else if (field === "retry" && /^\d+$/.test(val)) handlers.onRetry?.(Number(val));
      }
    }
  } finally {
    // The consumer stopped early or the read failed: let go of the connection.
    await reader.cancel().catch(() => undefined);
  }
}
