/**
 * `npm run bench [-- --quick] [-- --synchronous NORMAL]`: Rampart's benchmark suite (issue 6).
 *
 * Starts Rampart from the repository on free 127.0.0.1 ports with a fresh database, seeds it,
 * measures the stack's own limits in the same run (bare Fastify hello, bare grpc-js echo, raw
 * SQLite commits, one argon2id hash), drives each scenario from separate load-generator
 * processes (one warm-up, several timed runs, medians), prints the table of targets and writes
 * it to bench/results/. Always exits 0 once it has a report: it measures, it does not judge.
 * See bench/README.md.
 */
import { cpus, loadavg, availableParallelism } from "node:os";
import { join } from "node:path";
import { measureGrpc } from "./lib/grpc_load.ts";
import { measureHttp, measureTogether, summarize, type HttpLoad, type Measured, type Plan, type RunStats } from "./lib/http_load.ts";
import { cleanupAll, makeTempDir, REPO_ROOT, rssMiB, runForResult, sampleRss, sleep, spawnNode, waitForLine } from "./lib/proc.ts";
import { startRampart, type RampartServer } from "./lib/rampart_server.ts";
import { rowsTable, statementsTable, writeResults, type Results, type Row } from "./lib/report.ts";
import { p1Load, p2Load, p3Load, p4Load, p5Call, p6Load, p7Load } from "./lib/scenarios.ts";
import { makeAdminKey, seedBulk, seedHttp, type BulkSeed, type HttpSeed } from "./lib/seed.ts";
import { countStatements, type StatementCount } from "./lib/statements.ts";
import { fmt, median } from "./lib/stats.ts";

interface Options {
  quick: boolean;
  synchronous: "FULL" | "NORMAL";
  bulkUsers: number;
}

const USAGE = `usage: npm run bench [-- --quick] [-- --synchronous FULL|NORMAL] [-- --users N]
  --quick         shorter runs and 100,000 bulk users (under 2 minutes)
  --synchronous   SQLite synchronous for Rampart and the raw-commit baseline (default FULL, the server's default)
  --users N       users in P6's bulk realm (default 1,000,000; 100,000 with --quick)`;

function parseOptions(argv: string[]): Options {
  const options: Options = { quick: false, synchronous: "FULL", bulkUsers: 0 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === "--quick") options.quick = true;
    else if (flag === "--synchronous") {
      const v = value().toUpperCase();
      if (v !== "FULL" && v !== "NORMAL") throw new Error(`--synchronous must be FULL or NORMAL\n${USAGE}`);
      options.synchronous = v;
    } else if (flag === "--users") {
      const v = Number(value());
      if (!Number.isInteger(v) || v < 1000) throw new Error(`--users must be a whole number ≥ 1000\n${USAGE}`);
      options.bulkUsers = v;
    } else if (flag === "--help" || flag === "-h") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown option ${arg}\n${USAGE}`);
  }
  if (options.bulkUsers === 0) options.bulkUsers = options.quick ? 100_000 : 1_000_000;
  return options;
}

function log(message: string): void {
  process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function describe(m: Measured): string {
  const bad = m.errors + m.non2xx > 0 ? `, ${m.errors} errors, ${m.non2xx} non-2xx` : "";
  return `${fmt(m.rps)} req/s, p50 ${fmt(m.p50)} ms, p99 ${fmt(m.p99)} ms (runs: ${m.runs.map((r) => fmt(r.rps)).join(" / ")}${bad})`;
}

/** Why a load's figures cannot be trusted, if they cannot. */
function invalid(m: Measured | undefined): string | undefined {
  if (!m) return "not measured";
  if (m.errors + m.non2xx > 0) return `${m.errors} errors, ${m.non2xx} non-2xx: invalid`;
  if (m.runs.every((r) => r.total === 0)) return "no responses";
  return undefined;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const cores = availableParallelism();
  // The warm-up also covers the server's scale-up: under sustained load it starts an HTTP
  // helper process after ~0.3 s busy, which takes about a second to boot and take
  // connections (bin/http_helpers.ts). Timed runs measure the steady state.
  const plan: Plan = options.quick ? { warmupSeconds: 2, runs: 3, seconds: 1.5 } : { warmupSeconds: 3, runs: 5, seconds: 4 };
  // A single-connection latency probe needs fewer seconds per run to be stable.
  const latencyPlan: Plan = options.quick ? { warmupSeconds: 0.5, runs: 3, seconds: 1 } : { warmupSeconds: 1, runs: 5, seconds: 2 };
  const connections = 50;
  const loginConnections = 16;
  const createConnections = 16;
  const errors: string[] = [];
  const loads: Record<string, Measured> = {};
  const rows: Row[] = [];
  const seedInfo: Record<string, unknown> = { bulkUsers: options.bulkUsers };
  let statements: StatementCount[] = [];
  const loadAtStart = loadavg();

  log(
    `${options.quick ? "quick" : "full"} run on ${cores} cores; synchronous=${options.synchronous}; ${plan.runs} × ${plan.seconds} s after ${plan.warmupSeconds} s warm-up`,
  );
  if (loadAtStart[0]! > cores * 0.5) log(`note: load average is ${loadAtStart[0]!.toFixed(2)} on ${cores} cores — figures will be noisy`);

  /** Runs one step; a failure is recorded and the run goes on to the report. */
  const step = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      const message = `${what}: ${(err as Error).message ?? String(err)}`;
      errors.push(message);
      log(`FAILED ${message.split("\n")[0]}`);
      return undefined;
    }
  };

  const dir = makeTempDir();
  const dbPath = join(dir, "rampart.db");
  const adminKey = makeAdminKey();

  // -- Seeding -----------------------------------------------------------------------------
  log(`seed: ${options.bulkUsers.toLocaleString("en-US")} bulk users for P6, in-process through core, before the server starts`);
  let lastShown = 0;
  const bulk: BulkSeed | undefined = await step("bulk seed", () =>
    seedBulk(dbPath, adminKey, options.bulkUsers, (done) => {
      if (done - lastShown >= options.bulkUsers / 5 || done === options.bulkUsers) {
        lastShown = done;
        log(`  ${done.toLocaleString("en-US")} users`);
      }
    }),
  );
  if (bulk) {
    Object.assign(seedInfo, { bulkSeconds: Number(bulk.seconds.toFixed(1)), bulkRealm: bulk.realmId, deepAfterId: bulk.deepAfterId });
    log(`  done in ${fmt(bulk.seconds)} s (${fmt(bulk.users / bulk.seconds)} users/s)`);
  }

  log("start rampart (dist/server.js, as npm start) and seed through the HTTP API");
  const server: RampartServer | undefined = await step("start rampart", () => startRampart({ dbPath, adminKey, synchronous: options.synchronous }));
  const seed: HttpSeed | undefined = server ? await step("HTTP seed", () => seedHttp(server.url, adminKey, 100)) : undefined;
  if (seed) {
    Object.assign(seedInfo, { realm: seed.realmId, orgs: seed.orgs, httpSeedSeconds: Number(seed.seconds.toFixed(1)) });
    log(`  realm ${seed.realmId}: users alice (password), an api user, member10 and member100 over ${seed.orgs} orgs (${fmt(seed.seconds)} s)`);
  }

  const ready = server !== undefined && seed !== undefined;

  // -- P8 idle ---------------------------------------------------------------------------
  let idleRss: number | null = null;
  if (server) {
    await sleep(1500);
    idleRss = rssMiB(server.child.pid);
    log(`P8 idle RSS: ${fmt(idleRss)} MiB`);
  }

  // -- HTTP: Fastify baseline, P1, P2, P4 ------------------------------------------------
  // The machine drifts within minutes (the baseline has read 19k and 30k in one run), so the
  // baseline is measured before P1, between the scenarios and after P4, and each scenario is
  // compared with the runs right before and right after it (B1 shows all of them). Hello
  // needs no scale-up, so its warm-up is short.
  let fastifyRss: { idle: number | null; load: number | null } = { idle: null, load: null };
  const fastifyBlocks: RunStats[][] = [];
  const helloPlan: Plan = options.quick ? { warmupSeconds: 0.5, runs: 2, seconds: 1.5 } : { ...plan, warmupSeconds: 1 };
  const measureFastify = async (when: string): Promise<void> => {
    log(`baseline: bare Fastify hello-world (${when})`);
    const measured = await step(`Fastify hello (${when})`, async () => {
      const child = spawnNode("bench/children/fastify_hello.ts");
      try {
        const port = (await waitForLine(child, /READY (\d+)/, 20_000, "fastify hello"))[1];
        await sleep(200);
        const idle = rssMiB(child.pid);
        const sampler = sampleRss(child.pid);
        const result = await measureHttp({ url: `http://127.0.0.1:${port}/`, connections }, helloPlan);
        if (fastifyRss.idle === null) fastifyRss = { idle, load: sampler.stop() };
        else sampler.stop();
        return result;
      } finally {
        await child.stop();
      }
    });
    fastifyBlocks.push(measured?.runs ?? []);
    if (measured) log(`  ${describe(measured)}; RSS idle ${fmt(fastifyRss.idle)} MiB, peak ${fmt(fastifyRss.load)} MiB`);
  };
  /** The baseline of the scenario measured between hello blocks `i` and `i + 1`. */
  const fastifyAround = (i: number): Measured | undefined => {
    const runs = [...(fastifyBlocks[i] ?? []), ...(fastifyBlocks[i + 1] ?? [])];
    return runs.length ? summarize(runs) : undefined;
  };
  const httpScenarios: [id: "P1" | "P2" | "P4", title: string, load: () => HttpLoad][] = ready
    ? [
        ["P1", "GET /v1/sessions/:token", () => p1Load(server, seed, adminKey, connections)],
        ["P2", "POST /v1/users/authenticate_key", () => p2Load(server, seed, adminKey, connections)],
        ["P4", "GET /v1/users/:id?expands=memberships (10 memberships)", () => p4Load(server, seed, adminKey, connections)],
      ]
    : [];
  const fastifyFor: Partial<Record<"P1" | "P2" | "P4", Measured>> = {};
  let loadRss: number | null = null;
  await measureFastify("before P1");
  for (const [index, [id, title, load]] of httpScenarios.entries()) {
    log(`${id}: ${title}`);
    // P1 also gives P8's peak RSS under load (warm-up included: it is P1 load too).
    const sampler = id === "P1" && server ? sampleRss(server.child.pid) : undefined;
    const measured = await step(id, () => measureHttp(load(), plan));
    const peak = sampler?.stop() ?? null;
    if (measured) {
      loads[id] = measured;
      if (id === "P1") loadRss = peak;
      log(`  ${describe(measured)}${id === "P1" ? `; peak RSS ${fmt(loadRss)} MiB` : ""}`);
    }
    const next = httpScenarios[index + 1];
    await measureFastify(next ? `between ${id} and ${next[0]}` : `after ${id}`);
    const around = fastifyAround(index);
    if (around) fastifyFor[id] = around;
  }
  const allFastifyRuns = fastifyBlocks.flat();
  if (allFastifyRuns.length) {
    loads.fastify = summarize(allFastifyRuns);
    log(`  baseline over all blocks: ${describe(loads.fastify)}`);
  }

  // -- gRPC: echo baseline, P5 -----------------------------------------------------------
  // Like hello around the HTTP scenarios: echo right before and right after P5, both counted.
  const echoRuns: RunStats[] = [];
  const echoPlan: Plan = options.quick ? { warmupSeconds: 1, runs: 2, seconds: 1.5 } : plan;
  const measureEcho = async (when: string): Promise<void> => {
    log(`baseline: bare grpc-js unary echo (${when})`);
    const measured = await step(`grpc-js echo (${when})`, async () => {
      const child = spawnNode("bench/children/grpc_echo_server.ts");
      try {
        const port = (await waitForLine(child, /READY (\d+)/, 20_000, "grpc echo server"))[1];
        return await measureGrpc(
          {
            target: `127.0.0.1:${port}`,
            protoFile: "echo.proto",
            includeDirs: [join(REPO_ROOT, "bench", "fixtures")],
            service: "bench.v1.EchoService",
            method: "Echo",
            request: { message: "hello world" },
            metadata: {},
            concurrency: connections,
          },
          echoPlan,
        );
      } finally {
        await child.stop();
      }
    });
    if (!measured) return;
    echoRuns.push(...measured.runs);
    loads.echo = summarize(echoRuns);
    log(`  ${describe(measured)}`);
  };
  await measureEcho("before P5");
  if (ready) {
    log("P5: gRPC UserService/GetUser");
    const p5 = await step("P5", () => measureGrpc(p5Call(server, seed, adminKey, connections), plan));
    if (p5) {
      loads.P5 = p5;
      log(`  ${describe(p5)}`);
    }
    await measureEcho("after P5");
    if (loads.echo) log(`  echo over both: ${describe(loads.echo)}`);
  }

  // -- P6: deep pages ----------------------------------------------------------------------
  if (server && bulk) {
    log(`P6: first page vs the page after user ${(options.bulkUsers - 101).toLocaleString("en-US")} (one connection)`);
    const first = await step("P6 first page", () => measureHttp(p6Load(server, bulk.realmId, adminKey), latencyPlan));
    const deep = await step("P6 deep page", () => measureHttp(p6Load(server, bulk.realmId, adminKey, bulk.deepAfterId), latencyPlan));
    if (first) loads.P6first = first;
    if (deep) loads.P6deep = deep;
    if (first && deep) log(`  first: ${describe(first)}\n  deep:  ${describe(deep)}`);
  }

  // -- Baseline for P3, measured right before and right after it ----------------------------
  // A hash takes ~20 ms, so a second of hashing is ~50 samples; the machine's speed still
  // swings within a minute, so the times measured before and after P3 are pooled (median).
  type ArgonTiming = { times: number[]; medianMs: number; cores: number; parallelPerSecond: number };
  const argonTimings: ArgonTiming[] = [];
  const measureArgon = async (when: string): Promise<void> => {
    log(`baseline: argon2id hash time (@node-rs/argon2 m=19456 t=2 p=1), ${when}`);
    const timing = await step(`argon2id ${when}`, () =>
      runForResult<ArgonTiming>("bench/children/argon2_time.ts", [options.quick ? "1" : "3", options.quick ? "0.5" : "3"], 120_000, "argon2id timing"),
    );
    if (!timing) return;
    argonTimings.push(timing);
    log(
      `  ${fmt(timing.medianMs)} ms/hash (${timing.times.length} hashes); ${cores} cores → capacity ${fmt((cores * 1000) / timing.medianMs)}/s (${fmt(timing.parallelPerSecond)}/s measured in parallel)`,
    );
  };
  await measureArgon("before P3");

  // -- P3: logins under saturation, and P1's latency meanwhile ------------------------------
  // The probe is light (a fifth of P1's throughput, at most 500/s) so that its idle p99 is a
  // latency, not a queue.
  let p1Rate: number | undefined;
  if (ready) {
    p1Rate = Math.max(50, Math.min(500, Math.round((loads.P1?.rps ?? 1000) * 0.2)));
    const probe = p1Load(server, seed, adminKey, 10, p1Rate);
    const login = p3Load(server, seed, adminKey, loginConnections);
    log(`P3: P1 probe at ${p1Rate} req/s alone (idle p99)`);
    const idle = await step("P1 probe idle", () => measureHttp(probe, plan));
    if (idle) {
      loads.P1probeIdle = idle;
      log(`  ${describe(idle)}`);
    }
    log(`P3: POST /v1/users/{u}/authenticate, ${loginConnections} connections`);
    const p3 = await step("P3", () => measureHttp(login, plan));
    if (p3) {
      loads.P3 = p3;
      log(`  ${describe(p3)}`);
    }
    await measureArgon("after P3");
    log("P3: logins and the P1 probe at the same time");
    const both = await step("P3 + P1 probe", () => measureTogether([login, probe], plan));
    if (both) {
      loads.P3withProbe = both[0]!;
      loads.P1probeBusy = both[1]!;
      log(`  logins: ${describe(both[0]!)}\n  probe:  ${describe(both[1]!)}`);
    }
  }
  const argon =
    argonTimings.length === 0
      ? undefined
      : {
          medianMs: median(argonTimings.flatMap((t) => t.times)),
          samples: argonTimings.reduce((n, t) => n + t.times.length, 0),
          parallelPerSecond: median(argonTimings.map((t) => t.parallelPerSecond)),
        };
  const argonCapacity: number | null = argon ? (cores * 1000) / argon.medianMs : null;
  if (argon && argonCapacity) log(`  argon2id over both: ${fmt(argon.medianMs)} ms/hash (${argon.samples} hashes) → capacity ${fmt(argonCapacity)}/s`);

  // -- Baseline for P7, measured right before it (the disk is the noisiest part) ------------
  log(`baseline: raw SQLite single-row commits (WAL, synchronous=${options.synchronous})`);
  const sqliteRuns = await step("raw SQLite commits", async () => {
    const config = {
      path: join(makeTempDir(), "raw.db"),
      synchronous: options.synchronous,
      warmupSeconds: options.quick ? 0.5 : 1,
      seconds: options.quick ? 1 : 2,
      runs: plan.runs,
    };
    return (await runForResult<{ runs: RunStats[] }>("bench/children/sqlite_commits.ts", [JSON.stringify(config)], 120_000, "raw SQLite commits")).runs;
  });
  if (sqliteRuns) {
    loads.sqlite = summarize(sqliteRuns);
    log(`  ${describe(loads.sqlite)}`);
  }

  // -- P7: creating api users -------------------------------------------------------------
  if (ready) {
    log(`P7: POST /v1/users (api users), ${createConnections} connections`);
    const p7 = await step("P7", () => measureHttp(p7Load(server, seed, adminKey, createConnections), plan));
    if (p7) {
      loads.P7 = p7;
      log(`  ${describe(p7)}`);
    }
  }

  let idleAfterRss: number | null = null;
  if (server) {
    await sleep(1000);
    idleAfterRss = rssMiB(server.child.pid);
    log(`P8: RSS after the loads: ${fmt(idleAfterRss)} MiB`);
    const code = await server.child.stop("SIGTERM", 20_000);
    if (code !== 0) errors.push(`rampart exited with ${code} on SIGTERM: ${server.child.stderr().slice(-1000)}`);
  }

  // -- Statements per request (in-process, on the seeded database) --------------------------
  if (seed) {
    log("statements per request (in-process core on the seeded database)");
    statements = (await step("statement counts", () => countStatements(dbPath, adminKey, seed, options.synchronous))) ?? [];
  }

  // -- The table ---------------------------------------------------------------------------
  const ratio = (a: number | undefined, b: number | undefined | null): number | null => (a !== undefined && b ? a / b : null);
  const base = (m: Measured | undefined, label: string): string => (m ? `${label} ${fmt(m.rps)} req/s` : `${label} (not measured)`);
  const loadRow = (id: string, scenario: string, m: Measured | undefined, baseline: Measured | undefined, baseLabel: string, min: number): Row => {
    const note = invalid(m) ?? (baseline ? undefined : "no baseline");
    const r = ratio(m?.rps, baseline?.rps);
    return {
      id,
      scenario,
      rps: m?.rps ?? null,
      p50: m?.p50 ?? null,
      p99: m?.p99 ?? null,
      baseline: base(baseline, baseLabel),
      ratio: r,
      target: `≥ ${min}×`,
      met: r === null || invalid(m) ? false : r >= min,
      ...(note ? { note } : {}),
    };
  };
  const baselineRow = (id: string, scenario: string, m: Measured | undefined): Row => ({
    id,
    scenario,
    rps: m?.rps ?? null,
    p50: m?.p50 ?? null,
    p99: m?.p99 ?? null,
    baseline: "",
    ratio: null,
    target: "",
    met: null,
    ...(invalid(m) ? { note: invalid(m)! } : {}),
  });
  rows.push(
    baselineRow("B1", "baseline: bare Fastify hello-world, 50 connections (all blocks: before P1, between the scenarios, after P4)", loads.fastify),
    baselineRow("B2", "baseline: bare grpc-js unary echo, 50 in flight (before and after P5)", loads.echo),
    baselineRow("B3", `baseline: raw SQLite single-row commits (WAL, synchronous=${options.synchronous})`, loads.sqlite),
    {
      id: "B4",
      scenario: `baseline: argon2id m=19456 t=2 p=1, ${cores} cores`,
      rps: argonCapacity,
      p50: argon?.medianMs ?? null,
      p99: null,
      baseline: argon
        ? `cores / ${fmt(argon.medianMs)} ms, median of ${argon.samples} hashes before and after P3 (in parallel: ${fmt(argon.parallelPerSecond)}/s)`
        : "(not measured)",
      ratio: null,
      target: "",
      met: null,
    },
    loadRow("P1", "GET /v1/sessions/:token (managed realm)", loads.P1, fastifyFor.P1, "Fastify hello before and after", 0.5),
    loadRow("P2", "POST /v1/users/authenticate_key", loads.P2, fastifyFor.P2, "Fastify hello before and after", 0.5),
  );
  const p2cost = statements.find((s) => s.id === "P2");
  rows.push({
    id: "P2w",
    scenario: "database writes per authenticate_key call (steady state)",
    rps: null,
    p50: null,
    p99: null,
    baseline: p2cost ? `first call: ${p2cost.cold.writes}` : "(not measured)",
    ratio: p2cost ? p2cost.warm.writes : null,
    target: "= 0",
    met: p2cost ? p2cost.warm.writes === 0 : false,
  });
  const p3 = loads.P3;
  const p3ratio = ratio(p3?.rps, argonCapacity);
  rows.push({
    id: "P3",
    scenario: `POST /v1/users/{u}/authenticate, ${loginConnections} connections`,
    rps: p3?.rps ?? null,
    p50: p3?.p50 ?? null,
    p99: p3?.p99 ?? null,
    baseline: argonCapacity ? `cores / argon2id ${fmt(argonCapacity)}/s` : "(not measured)",
    ratio: p3ratio,
    target: "≥ 0.7×",
    met: p3ratio === null || invalid(p3) ? false : p3ratio >= 0.7,
    ...(invalid(p3) ? { note: invalid(p3)! } : {}),
  });
  const idle = loads.P1probeIdle;
  const busy = loads.P1probeBusy;
  const p99ratio = ratio(busy?.p99, idle?.p99);
  const probeNote = invalid(busy) ?? invalid(idle) ?? (loads.P3withProbe ? `logins meanwhile ${fmt(loads.P3withProbe.rps)}/s` : undefined);
  rows.push({
    id: "P3p99",
    scenario: `P1 probe (10 connections, autocannon rate ${p1Rate ?? "–"}/s) p99 while logins saturate`,
    rps: busy?.rps ?? null,
    p50: busy?.p50 ?? null,
    p99: busy?.p99 ?? null,
    baseline: idle ? `idle p99 ${fmt(idle.p99)} ms` : "(not measured)",
    ratio: p99ratio,
    target: "≤ 3×",
    met: p99ratio === null || invalid(busy) || invalid(idle) ? false : p99ratio <= 3,
    ...(probeNote ? { note: probeNote } : {}),
  });
  rows.push(loadRow("P4", "GET /v1/users/:id?expands=memberships (10)", loads.P4, fastifyFor.P4, "Fastify hello before and after", 0.4));
  const c10 = statements.find((s) => s.id === "P4");
  const c100 = statements.find((s) => s.id === "P4/100");
  rows.push({
    id: "P4q",
    scenario: "statements for 100 memberships vs 10",
    rps: null,
    p50: null,
    p99: null,
    baseline: c10 ? `10 memberships: ${c10.warm.statements}` : "(not measured)",
    ratio: c100 && c10 ? c100.warm.statements / c10.warm.statements : null,
    target: "= 1× (equal)",
    met: c10 && c100 ? c10.warm.statements === c100.warm.statements : false,
  });
  rows.push(loadRow("P5", "gRPC UserService/GetUser, 50 in flight", loads.P5, loads.echo, "grpc-js echo", 0.7));
  const first = loads.P6first;
  const deep = loads.P6deep;
  // One connection: the mean latency is 1/throughput, finer than autocannon's whole-ms percentiles.
  const meanMs = (m: Measured | undefined): number | null => (m && m.rps > 0 ? 1000 / m.rps : null);
  const p6ratio = ratio(meanMs(deep) ?? undefined, meanMs(first));
  const p6note = invalid(deep) ?? invalid(first) ?? `mean ${fmt(meanMs(deep))} ms vs ${fmt(meanMs(first))} ms`;
  rows.push({
    id: "P6",
    scenario: `GET /v1/users?max_results=100 after user ${(options.bulkUsers - 101).toLocaleString("en-US")} of ${options.bulkUsers.toLocaleString("en-US")}`,
    rps: deep?.rps ?? null,
    p50: deep?.p50 ?? null,
    p99: deep?.p99 ?? null,
    baseline: first ? `first page ${fmt(meanMs(first))} ms` : "(not measured)",
    ratio: p6ratio,
    target: "≤ 1.5× latency",
    met: p6ratio === null || invalid(deep) || invalid(first) ? false : p6ratio <= 1.5,
    note: p6note,
  });
  rows.push(loadRow("P7", `POST /v1/users (api user), ${createConnections} connections`, loads.P7, loads.sqlite, "raw SQLite commits", 0.7));
  rows.push(
    {
      id: "P8",
      scenario: "server RSS idle (after seeding)",
      rps: null,
      p50: null,
      p99: null,
      baseline: `${fmt(idleRss)} MiB (after the loads: ${fmt(idleAfterRss)} MiB; Fastify hello idle: ${fmt(fastifyRss.idle)} MiB)`,
      ratio: null,
      target: "≤ 120 MB",
      met: idleRss === null ? false : idleRss <= 120,
      value: `${fmt(idleRss)} MiB`,
    },
    {
      id: "P8load",
      scenario: "server RSS under P1 load (peak)",
      rps: null,
      p50: null,
      p99: null,
      baseline: `${fmt(loadRss)} MiB (Fastify hello under load: ${fmt(fastifyRss.load)} MiB)`,
      ratio: null,
      target: "≤ 400 MB",
      met: loadRss === null ? false : loadRss <= 400,
      value: `${fmt(loadRss)} MiB`,
    },
  );

  const results: Results = {
    startedAt,
    seconds: (Date.now() - started) / 1000,
    mode: options.quick ? "quick" : "full",
    machine: { cores, cpu: cpus()[0]?.model ?? "unknown", node: process.versions.node, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg() },
    settings: { plan, latencyPlan, connections, loginConnections, createConnections, synchronous: options.synchronous, logLevel: "warn" },
    seed: seedInfo,
    rows,
    statements,
    loads,
    errors,
  };
  const path = writeResults(join(REPO_ROOT, "bench", "results"), results);

  process.stdout.write(`\n${rowsTable(rows)}\n\n${statementsTable(statements)}\n\n`);
  const missed = rows.filter((r) => r.met === false);
  const measured = rows.filter((r) => r.met !== null);
  if (missed.length === 0) process.stdout.write(`All ${measured.length} targets met.\n`);
  else {
    process.stdout.write(`MISSED ${missed.length} of ${measured.length} targets:\n`);
    for (const r of missed)
      process.stdout.write(
        `  ✗ ${r.id} ${r.scenario}: ${r.value ?? (r.ratio === null ? "not measured" : fmt(r.ratio))} (target ${r.target})${r.note ? ` — ${r.note}` : ""}\n`,
      );
  }
  if (errors.length) process.stdout.write(`${errors.length} step(s) failed; see the Errors section of the report.\n`);
  process.stdout.write(`Report: ${path} (and bench/results/latest.md, .json); ${Math.round(results.seconds)} s.\n`);
}

process.on("SIGINT", () => {
  cleanupAll();
  process.exit(130);
});

main()
  .then(() => {
    cleanupAll();
    process.exit(0);
  })
  .catch((err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    cleanupAll();
    process.exit(1);
  });
