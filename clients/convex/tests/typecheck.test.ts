// @vitest-environment node
//
// `npx convex deploy` typechecks the functions with convex/tsconfig.json
// before it pushes them; the same check here (and on the tests), so what is
// tested is what would deploy.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

test.each(["convex", "tests"])("tsc --noEmit -p %s", (project) => {
  const r = spawnSync(process.execPath, ["node_modules/typescript/bin/tsc", "--noEmit", "-p", project], {
    cwd: root,
    encoding: "utf8",
    timeout: 300_000,
  });
  expect(r.stdout + r.stderr).toBe("");
  expect(r.status).toBe(0);
}, 300_000);
