#!/usr/bin/python3
"""Sample rtgw validator: checks a JSON document against rules and calls back.

Environment (set by the launcher): INPUT_URI, CALLBACK_URL, CALLBACK_ID, RUN_ID,
VALIDATOR_VERSION; with the local launcher also CALLBACK_ID_TOKEN (on Cloud Run
the job would mint its ID token from the metadata server instead).

The envelope at INPUT_URI (file:// only in this sample) holds
  {"document": {"data": {...}, "rules": [{"path": "a.b", "required": true,
    "type": "string|number|integer|boolean|object|array", "min": 0, "max": 9}]}, ...}
Result: {"passed": bool, "findings": [...]} written to the envelope's result_uri,
then POST CALLBACK_URL {run_id, callback_id, status, result_uri, findings}.
A document without "data"/"rules" is a FAILED run (the validator cannot work).
Standard library only (Debian's /usr/bin/python3).
"""
import json
import os
import sys
import urllib.request

TYPES = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


def log(event, **fields):
    print(json.dumps({"event": event, "run_id": os.environ.get("RUN_ID"), **fields}),
          file=sys.stderr, flush=True)


def path_of(uri):
    if not uri.startswith("file://"):
        raise ValueError("this sample reads file:// URIs only: " + uri)
    return uri[len("file://"):]


def lookup(data, dotted):
    cur = data
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return False, None
        cur = cur[part]
    return True, cur


def check(data, rules):
    findings = []
    for rule in rules:
        p = rule["path"]
        found, value = lookup(data, p)
        if not found:
            if rule.get("required"):
                findings.append({"path": p, "severity": "error", "message": "missing"})
            continue
        t = rule.get("type")
        if t and not TYPES[t](value):
            findings.append({"path": p, "severity": "error", "message": "expected " + t})
            continue
        if "min" in rule and TYPES["number"](value) and value < rule["min"]:
            findings.append({"path": p, "severity": "error",
                             "message": "below minimum %s" % rule["min"]})
        if "max" in rule and TYPES["number"](value) and value > rule["max"]:
            findings.append({"path": p, "severity": "error",
                             "message": "above maximum %s" % rule["max"]})
    return findings


def callback(body):
    req = urllib.request.Request(
        os.environ["CALLBACK_URL"], data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json",
                 "Authorization": "Bearer " + os.environ.get("CALLBACK_ID_TOKEN", "")})
    # Retry like Cloud Run would: the callback_id fences duplicates.
    for attempt in range(5):
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                log("callback_sent", status=resp.status)
                return True
        except urllib.error.HTTPError as e:
            log("callback_refused", status=e.code, body=e.read().decode(errors="replace"))
            if e.code < 500:
                return False
        except OSError as e:
            log("callback_error", error=str(e), attempt=attempt)
    return False


def main():
    run_id = os.environ["RUN_ID"]
    callback_id = os.environ["CALLBACK_ID"]
    with open(path_of(os.environ["INPUT_URI"]), encoding="utf-8") as f:
        envelope = json.load(f)
    result_uri = envelope["result_uri"]
    doc = envelope.get("document")
    base = {"run_id": run_id, "callback_id": callback_id, "result_uri": result_uri}
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), dict) \
            or not isinstance(doc.get("rules"), list):
        log("bad_input")
        result = {"passed": False, "error": "document needs data (object) and rules (array)"}
        status = "FAILED"
        findings = []
    else:
        try:
            findings = check(doc["data"], doc["rules"])
        except (KeyError, TypeError) as e:
            findings, status = [], "FAILED"
            result = {"passed": False, "error": "bad rule: %s" % e}
        else:
            status = "SUCCEEDED"
            result = {"passed": not findings, "findings": findings,
                      "version": os.environ.get("VALIDATOR_VERSION")}
    out = path_of(result_uri)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        json.dump(result, f)
    os.replace(out + ".tmp", out)
    body = dict(base, status=status, findings=findings)
    if status == "FAILED":
        body["error"] = {"message": result["error"]}
    return 0 if callback(body) else 1


if __name__ == "__main__":
    sys.exit(main())
