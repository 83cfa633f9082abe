// The console's Server-Sent Events parser (www/watch.js) on the framings WHATWG HTML 9.2 allows,
// fed in arbitrary chunks as a ReadableStream delivers them. Runs in node: the parser is pure.
import { test } from "node:test";
import assert from "node:assert/strict";

import { EventStreamParser } from "../www/watch.js";

const STREAM =
  "retry: 3000\n\n" +
  ": keepalive\n\n" +
  'id: c1.a\nevent: job\ndata: {"job_id":"j1","projection_version":1}\n\n' +
  "id: c1.b\r\nevent: job\r\ndata: line one\r\ndata: line two\r\n\r\n" +
  "data:no space\rid: c1.c\r\r" +
  "event: job\ndata\n\n" + // a data field without a value: one empty line of data
  "id: c1.d\n\n"; // an id alone: no event, but the id is kept

function parseIn(chunks) {
  const parser = new EventStreamParser();
  const events = chunks.flatMap((c) => parser.push(c));
  return { events, parser };
}

const EXPECTED = [
  { type: "job", data: '{"job_id":"j1","projection_version":1}', id: "c1.a" },
  { type: "job", data: "line one\nline two", id: "c1.b" },
  { type: "message", data: "no space", id: "c1.c" },
  { type: "job", data: "", id: "c1.c" },
];

test("whole stream: events, ids, retry; comments and id-only blocks dispatch nothing", () => {
  const { events, parser } = parseIn([STREAM]);
  assert.deepEqual(events, EXPECTED);
  assert.equal(parser.retryMs, 3000);
  assert.equal(parser.lastEventId, "c1.d");
});

test("any split into chunks gives the same events (CR LF across chunks too)", () => {
  for (let size = 1; size <= 17; size++) {
    const chunks = [];
    for (let i = 0; i < STREAM.length; i += size) chunks.push(STREAM.slice(i, i + size));
    assert.deepEqual(parseIn(chunks).events, EXPECTED, `chunks of ${size}`);
  }
  // Every split point of the CRLF block.
  const at = STREAM.indexOf("\r\n");
  assert.deepEqual(parseIn([STREAM.slice(0, at + 1), STREAM.slice(at + 1)]).events, EXPECTED);
});

test("an incomplete last event is not dispatched", () => {
  const { events } = parseIn(["id: x\nevent: job\ndata: {}\n"]);
  assert.deepEqual(events, []);
});
