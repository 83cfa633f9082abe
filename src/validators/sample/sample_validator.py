#!/usr/bin/python3
"""Sample rtgw validator: checks a JSON document against rules and calls back.

Environment (set by the launcher): INPUT_URI, CALLBACK_URL, CALLBACK_ID, RUN_ID,
VALIDATOR_VERSION, and the callback ID token, depending on the launcher:
  - local: CALLBACK_ID_TOKEN (the token itself);
  - slurm: CALLBACK_ID_TOKEN_FILE (a 0600 file the management-node agent wrote);
  - cloud-run: neither; the token comes from the metadata server
    (GET http://$GCE_METADATA_HOST/computeMetadata/v1/instance/service-accounts/default/
    identity?audience=<CALLBACK_URL>&format=full, header Metadata-Flavor: Google;
    GCE_METADATA_HOST defaults to metadata.google.internal).

URIs: file:// (a local path) or gs://bucket/object through the GCS JSON API at
$STORAGE_EMULATOR_HOST (default https://storage.googleapis.com) with an access token from the
metadata server (.../service-accounts/default/token).

The envelope at INPUT_URI holds
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
import urllib.error
import urllib.parse
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


def metadata(path):
    host = os.environ.get("GCE_METADATA_HOST", "metadata.google.internal")
    req = urllib.request.Request("http://%s/computeMetadata/v1/instance/service-accounts/default/%s"
                                 % (host, path), headers={"Metadata-Flavor": "Google"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read().decode()


def access_token():
    return json.loads(metadata("token"))["access_token"]


def gcs_endpoint():
    return os.environ.get("STORAGE_EMULATOR_HOST", "https://storage.googleapis.com").rstrip("/")


def split_gs(uri):
    bucket, _, name = uri[len("gs://"):].partition("/")
    if not bucket or not name:
        raise ValueError("gs:// URI needs a bucket and an object: " + uri)
    return bucket, name


def read_uri(uri):
    if uri.startswith("file://"):
        with open(uri[len("file://"):], "rb") as f:
            return f.read()
    if uri.startswith("gs://"):
        bucket, name = split_gs(uri)
        req = urllib.request.Request(
            "%s/storage/v1/b/%s/o/%s?alt=media" % (gcs_endpoint(), urllib.parse.quote(bucket, safe=""),
                                                   urllib.parse.quote(name, safe="")),
            headers={"Authorization": "Bearer " + access_token()})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.read()
    raise ValueError("unsupported URI: " + uri)


def write_uri(uri, data, content_type="application/json"):
    if uri.startswith("file://"):
        out = uri[len("file://"):]
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out + ".tmp", "wb") as f:
            f.write(data)
        os.replace(out + ".tmp", out)
        return
    if uri.startswith("gs://"):
        bucket, name = split_gs(uri)
        req = urllib.request.Request(
            "%s/upload/storage/v1/b/%s/o?uploadType=media&name=%s"
            % (gcs_endpoint(), urllib.parse.quote(bucket, safe=""), urllib.parse.quote(name, safe="")),
            data=data, method="POST",
            headers={"Authorization": "Bearer " + access_token(), "Content-Type": content_type})
        with urllib.request.urlopen(req, timeout=30):
            return
    raise ValueError("unsupported URI: " + uri)


def id_token(audience):
    if os.environ.get("CALLBACK_ID_TOKEN"):
        return os.environ["CALLBACK_ID_TOKEN"]
    if os.environ.get("CALLBACK_ID_TOKEN_FILE"):
        with open(os.environ["CALLBACK_ID_TOKEN_FILE"], encoding="ascii") as f:
            return f.read().strip()
    return metadata("identity?audience=%s&format=full"
                    % urllib.parse.quote(audience, safe="")).strip()


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
    url = os.environ["CALLBACK_URL"]
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": "Bearer " + id_token(url)})
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
    envelope = json.loads(read_uri(os.environ["INPUT_URI"]).decode("utf-8"))
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
    write_uri(result_uri, json.dumps(result).encode())
    body = dict(base, status=status, findings=findings)
    if status == "FAILED":
        body["error"] = {"message": result["error"]}
    return 0 if callback(body) else 1


if __name__ == "__main__":
    sys.exit(main())
