import { defineConfig } from "vitest/config";

// The dev server proxies every API path and the Socket.IO endpoint to a running
// `hubbub serve` (HUBBUB_DEV_SERVER, default http://127.0.0.1:8000).
const target = process.env.HUBBUB_DEV_SERVER ?? "http://127.0.0.1:8000";
const api = ["/auth", "/users", "/conversations", "/spaces", "/files", "/search", "/admin", "/healthz"];

export default defineConfig({
  base: "/",
  build: {
    outDir: "../src/hubbub/web",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    target: "es2022",
    chunkSizeWarningLimit: 200,
  },
  server: {
    proxy: {
      ...Object.fromEntries(api.map((p) => [p, { target, changeOrigin: false }])),
      "/socket.io": { target, ws: true, changeOrigin: false },
    },
  },
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
  },
});
