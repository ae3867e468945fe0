// Writes build-info.json next to the built assets: a hash of every source file the
// build reads. tests/test_web_assets.py recomputes it from web/ and fails when the
// committed assets were not built from the current sources.
// Usage: node scripts/stamp.mjs [outDir]   (default ../src/hubbub/web)
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(import.meta.url), "..", "..");
const outDir = resolve(root, process.argv[2] ?? "../src/hubbub/web");

// Keep in step with SOURCES in tests/test_web_assets.py.
const SOURCES = ["index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts", "public", "src", "scripts"];

function walk(path) {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return [];
  if (st.isFile()) return [path];
  return readdirSync(path).flatMap((name) => walk(join(path, name)));
}

export function sourceHash() {
  const files = SOURCES.flatMap((s) => walk(join(root, s)))
    .map((f) => relative(root, f).split(sep).join("/"))
    .sort();
  const h = createHash("sha256");
  for (const rel of files) {
    const digest = createHash("sha256").update(readFileSync(join(root, rel))).digest("hex");
    h.update(`${rel}\n${digest}\n`);
  }
  return { sourceHash: h.digest("hex"), files: files.length };
}

const info = sourceHash();
writeFileSync(join(outDir, "build-info.json"), JSON.stringify(info, null, 2) + "\n");
console.log(`stamped ${relative(process.cwd(), outDir) || "."}/build-info.json: ${info.sourceHash.slice(0, 12)} (${info.files} files)`);
