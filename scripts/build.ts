/**
 * `npm run build` (and the first step of `npm start`): bundles the server, bin/server.ts and
 * the workspace packages it imports, into one plain-JavaScript file, dist/server.js, with
 * esbuild. npm dependencies stay external (loaded from node_modules as usual).
 *
 * Why: Node 20 cannot run TypeScript itself, and running through tsx's loader costs ~40 MB
 * of memory for the life of the process (its hooks run on a thread with a V8 heap of its
 * own). The bundle takes ~0.2 s to build, so `npm start` rebuilds it every time and it can
 * never be stale. Tests and the benchmark start the same bundle.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The bundled server's path. */
export const SERVER_BUNDLE = join(ROOT, "dist", "server.js");

/** Builds dist/server.js; throws (with esbuild's messages) when the sources do not compile. */
export async function buildServer(): Promise<string> {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
  await build({
    absWorkingDir: ROOT,
    entryPoints: ["bin/server.ts"],
    outfile: SERVER_BUNDLE,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // Third-party packages load from node_modules (native addons, their own files).
    external: Object.keys(pkg.dependencies),
    sourcemap: "linked",
    logLevel: "silent",
  });
  return SERVER_BUNDLE;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await buildServer();
  } catch (err) {
    process.stderr.write(`rampart: build failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
