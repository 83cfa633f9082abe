// A live local rtgw for the client tests: `rtgw serve` on 127.0.0.1 with a temporary SQLite
// file and its own HS256 secret, started and stopped by the tests (one helper for every test file).
//   RTGW_BIN=/path/to/rtgw npm test      (default: ../../build/release/src/app/rtgw)
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";

export const RTGW = resolve(
  process.env.RTGW_BIN ?? new URL("../../../build/release/src/app/rtgw", import.meta.url).pathname,
);
export const hex = () => randomBytes(6).toString("hex");

/** A port nothing listens on now (for a server that must come back on the same address). */
export async function freePort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * Starts `rtgw serve` (extra flags in `args`; `port` 0 = ephemeral). Returns
 * { baseUrl, token(tenant, sub), issue(tenant, sub, claims), stop(), start() }: stop() sends
 * SIGTERM and waits for the exit, start() starts it again on the same database (and port, when one
 * was given).
 */
export async function startRtgw({ args = [], port = 0 } = {}) {
  assert.ok(existsSync(RTGW), `no rtgw binary at ${RTGW} (set RTGW_BIN)`);
  const dir = mkdtempSync(join(tmpdir(), "rtgw-ts-"));
  const secret = randomBytes(32).toString("hex");
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("RTGW_")));
  const portFile = join(dir, "port");
  const live = {
    baseUrl: "",
    server: null,
    token(tenant, sub = "ts-client") {
      return execFileSync(RTGW, ["dev", "token", "--secret", secret, "--tenant", tenant, "--sub", sub])
        .toString()
        .trim();
    },
    /**
     * A token of `rtgw token issue` with this server's secret: `scope` ("runtime:admin
     * runtime:read"), `node` (a management-node token), `jti` ("auto" or an id), `ttl` ("1h").
     */
    issue(tenant, sub, { scope, node, jti, ttl } = {}) {
      const args = ["token", "issue", "--secret", secret, "--tenant", tenant, "--sub", sub];
      for (const [flag, value] of [["--scope", scope], ["--node", node], ["--jti", jti], ["--ttl", ttl]]) {
        if (value) args.push(flag, value);
      }
      return execFileSync(RTGW, args).toString().trim();
    },
    async start() {
      if (existsSync(portFile)) unlinkSync(portFile);
      const server = spawn(
        RTGW,
        ["serve", "--listen", `127.0.0.1:${port}`, "--port-file", portFile,
         "--database-url", `sqlite://${join(dir, "rtgw.db")}`, "--jwt-hs256-secret", secret,
         "--access-log", "off", ...args],
        { env, stdio: ["ignore", "ignore", "pipe"] },
      );
      live.server = server;
      let stderr = "";
      server.stderr.on("data", (d) => (stderr += d));
      const deadline = Date.now() + 20000;
      while (Date.now() < deadline) {
        if (server.exitCode !== null) throw new Error(`rtgw serve exited ${server.exitCode}: ${stderr}`);
        const p = existsSync(portFile) ? readFileSync(portFile, "utf8").trim() : "";
        if (/^[1-9]\d*$/.test(p)) {
          live.baseUrl = `http://127.0.0.1:${p}`;
          return live;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`rtgw serve did not start: ${stderr}`);
    },
    async stop() {
      const server = live.server;
      if (server && server.exitCode === null) {
        const exited = new Promise((r) => server.once("exit", r));
        server.kill("SIGTERM");
        await exited;
      }
    },
    async close() {
      await live.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return live.start();
}
