"""Shared helpers for the Slurm adapter boundary and management-node suites: a queue policy
file, Slurm catalogues as an agent reports them, and a node client (pytest plays the agent)."""
from __future__ import annotations

import json
from pathlib import Path

import httpx

from conftest import make_token

POLICY = {
    "contract_version": "slurm-adapter-boundary/v1",
    "queues": {
        "default": {"partition": "debug", "account": None, "qos": None, "max_walltime_minutes": 60},
        "long": {"partition": "batch", "max_walltime_minutes": 600},
        "gpu": {"partition": "gpu", "account": "chem", "qos": "normal", "max_walltime_minutes": 120},
    },
    "fallback_queue": "default",
    "tenants": {"*": {"deny": ["gpu"]}},
    "limits": {"max_cpu": 64, "max_memory_mib": 262144},
}

# What an agent on a healthy cluster reports: batch's MaxTime (300) is below the queue's 600.
CATALOGUE = {
    "version": "22.05.8", "cluster": "ci",
    "partitions": [
        {"name": "debug", "state": "up", "default": True, "max_time_minutes": 60,
         "total_nodes": 1, "idle_nodes": 1, "total_cpus": 2, "idle_cpus": 2},
        {"name": "batch", "state": "up", "max_time_minutes": 300},
        {"name": "gpu", "state": "up", "max_time_minutes": None},
    ],
    "accounts": ["chem"], "qos": ["normal"],
}


def write_policy(directory: Path, policy: dict | None = None, name: str = "policy.json") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(json.dumps(policy if policy is not None else POLICY))
    return path


def adapter_env(mode: str, policy_path: Path | None, **extra: str) -> dict:
    env = {"ZPE_SLURM_ADAPTER": mode, "ZPE_SLURM_ADAPTER_OWNER": "",
           "ZPE_SLURM_ADAPTER_EXPIRES_AT": ""}
    if policy_path is not None:
        env["RTGW_QUEUE_POLICY_FILE"] = str(policy_path)
    env.update(extra)
    return env


def heartbeat_body(catalogue: dict | None = None, executor: str = "slurm", in_flight: int = 0):
    return {"agent_version": "0.3.0", "executor": executor,
            "slurm": catalogue if catalogue is not None else (CATALOGUE if executor == "slurm"
                                                               else None),
            "in_flight": in_flight}


class Node:
    """A management node's client: a node token (tenant_id, sub, node_id) and the node routes."""

    def __init__(self, server, tenant: str, node_id: str, token: str | None = None):
        self.server = server
        self.tenant = tenant
        self.node_id = node_id
        self.token = token or make_token(tenant, sub="agent-" + node_id, node_id=node_id)
        self.client = server.client(timeout=40)

    def close(self):
        self.client.close()

    def headers(self) -> dict:
        return {"authorization": "Bearer " + self.token, "content-type": "application/json"}

    def post(self, path: str, body=None) -> httpx.Response:
        data = b"" if body is None else json.dumps(body)
        return self.client.post(path, content=data, headers=self.headers())

    def heartbeat(self, body=None, node_id: str | None = None) -> httpx.Response:
        return self.post(f"/api/runtime/nodes/{node_id or self.node_id}/heartbeat",
                         body if body is not None else heartbeat_body())

    def acquire(self, node_id: str | None = None, **body) -> httpx.Response:
        body.setdefault("wait_seconds", 0)
        return self.post(f"/api/runtime/nodes/{node_id or self.node_id}/leases:acquire", body)

    def renew(self, lease_id: str, **body) -> httpx.Response:
        return self.post(f"/api/runtime/nodes/{self.node_id}/leases/{lease_id}:renew", body)

    def release(self, lease_id: str) -> httpx.Response:
        return self.post(f"/api/runtime/nodes/{self.node_id}/leases/{lease_id}:release", {})

    def cancel(self, job_id: str) -> httpx.Response:
        return self.post(f"/api/runtime/jobs/{job_id}:cancel", {})

    def event(self, job_id: str, body: dict) -> httpx.Response:
        return self.post(f"/api/runtime/jobs/{job_id}/events", body)
