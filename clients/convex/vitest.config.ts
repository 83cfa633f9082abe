import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Convex's default runtime is not Node: run its functions in the edge runtime.
    environment: "edge-runtime",
    server: { deps: { inline: ["convex-test"] } },
    include: ["tests/**/*.test.ts"],
    testTimeout: 20_000,
  },
});
