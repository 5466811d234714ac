/**
 * HTTP helper processes: more cores for the HTTP API when one process is saturated.
 *
 * The server process (the "primary") listens as usual. When its event loop has been busy
 * for a while it forks a helper: the same program with `RAMPART_ROLE=http-helper`, which
 * opens the same SQLite file, builds the same HTTP app and receives the primary's listening
 * socket over IPC. From then on both processes accept connections from that one socket (the
 * kernel hands each new connection to whichever accepts first, so a busy process takes
 * fewer). When the primary has been idle for a while, helpers drain and exit, so an idle
 * server is one process again.
 *
 * Helpers only read the database: every request that may write (http-bridge/forward.ts) is
 * handed to the primary, which answers it through its own app, so all writes share the
 * primary's group commit and no process ever waits for another's write lock. Reads are
 * exact in every process: each cache in core is emptied when another process commits
 * (SqliteStore's data_version probe). Only the primary runs gRPC, the webhook worker (it polls the outbox,
 * so deliveries a helper queues go out within a second) and the metrics registry: helpers
 * send their request observations to it and fetch `/metrics` text from it. Every call that
 * hashes a password writes (a login records an event), so hashes too run only in the
 * primary's pool: the machine never runs more at once than it has cores. The hosted pages' CSRF key is
 * the primary's, so a form rendered by one process can be posted to another. After a helper
 * starts serving, the primary asks a share of its keep-alive connections to reconnect
 * (`Connection: close` on their next answer), so clients already connected spread too.
 */
import { fork, type ChildProcess } from "node:child_process";
import type { Server } from "node:net";
import { performance } from "node:perf_hooks";
import type { MetricsSink } from "@rampart/core";
import type { ForwardedRequest, ForwardedResponse, HttpMetrics } from "@rampart/http-bridge";
import type { Logger } from "pino";
import { LoginTally, RequestTally, type LoginRows, type TallyRows } from "./request_tally.ts";

/** The messages between the primary and a helper (JSON over the IPC channel). */
export type HelperMessage =
  | { t: "hello" }
  | { t: "serve"; csrfKey: string; forwardToken: string }
  | { t: "serving" }
  | { t: "observations"; requests: TallyRows; logins: LoginRows }
  | { t: "render"; id: number }
  | { t: "rendered"; id: number; contentType: string; body: string }
  | { t: "request"; id: number; request: ForwardedRequest }
  | { t: "response"; id: number; response?: ForwardedResponse; error?: string }
  | { t: "drain" };

/** When to start and stop helpers, from the primary's event-loop utilisation (0…1). */
export interface ScalePolicyOptions {
  /** Utilisation at or above which the primary counts as busy (default 0.85). */
  busyAt?: number;
  /** How long it must stay busy before a helper starts (default 300 ms). */
  busyForMs?: number;
  /** Utilisation below which the primary counts as idle (default 0.2). */
  idleBelow?: number;
  /** How long it must stay idle before a helper stops (default 30 s). */
  idleForMs?: number;
  /** Share of the primary's requests that wrote, above which the load is write-bound (default 0.5). */
  writeBoundAbove?: number;
  /** How long the load must stay write-bound before a helper stops (default 1 s). */
  writeBoundForMs?: number;
}

/** One sample of the primary's load. */
export interface LoadSample {
  /** Event-loop utilisation over the sample (0…1). */
  utilization: number;
  /** Share of the requests answered in the sample (its own and forwarded ones) that wrote. */
  writeShare: number;
}

/**
 * Decides from successive samples; pure, so it is tested without load. Helpers add read
 * capacity only: SQLite has one writer and every write is the primary's, so while most
 * requests write, a helper only adds hand-offs. A busy primary gets a helper unless the
 * load is write-bound; a write-bound or long-idle one loses one.
 */
export class ScalePolicy {
  readonly #busyAt: number;
  readonly #busyForMs: number;
  readonly #idleBelow: number;
  readonly #idleForMs: number;
  readonly #writeBoundAbove: number;
  readonly #writeBoundForMs: number;
  #busySince: number | undefined;
  #idleSince: number | undefined;
  #writeBoundSince: number | undefined;

  constructor(options: ScalePolicyOptions = {}) {
    this.#busyAt = options.busyAt ?? 0.85;
    this.#busyForMs = options.busyForMs ?? 300;
    this.#idleBelow = options.idleBelow ?? 0.2;
    this.#idleForMs = options.idleForMs ?? 30_000;
    this.#writeBoundAbove = options.writeBoundAbove ?? 0.5;
    this.#writeBoundForMs = options.writeBoundForMs ?? 1000;
  }

  /** The decision after a sample taken at `nowMs` with `helpers` running, of at most `max`. */
  observe(sample: LoadSample, nowMs: number, helpers: number, max: number): "start" | "stop" | undefined {
    const writeBound = sample.utilization >= this.#idleBelow && sample.writeShare > this.#writeBoundAbove;
    this.#busySince = sample.utilization >= this.#busyAt && !writeBound ? (this.#busySince ?? nowMs) : undefined;
    this.#idleSince = sample.utilization < this.#idleBelow ? (this.#idleSince ?? nowMs) : undefined;
    this.#writeBoundSince = writeBound ? (this.#writeBoundSince ?? nowMs) : undefined;
    if (this.#busySince !== undefined && nowMs - this.#busySince >= this.#busyForMs && helpers < max) {
      this.#busySince = undefined; // the next helper waits for a fresh busy spell
      return "start";
    }
    const idle = this.#idleSince !== undefined && nowMs - this.#idleSince >= this.#idleForMs;
    const bound = this.#writeBoundSince !== undefined && nowMs - this.#writeBoundSince >= this.#writeBoundForMs;
    if ((idle || bound) && helpers > 0) {
      this.#idleSince = undefined;
      this.#writeBoundSince = undefined;
      return "stop";
    }
    return undefined;
  }
}

export interface HelperPoolOptions {
  /** The primary's listening HTTP server, shared with every helper. */
  server: Server;
  /** Most helpers at once (RAMPART_HTTP_PROCESSES − 1). */
  max: number;
  /** `always`: start `max` helpers now and keep them; `auto`: follow the {@link ScalePolicy}. */
  scaling: "auto" | "always";
  logger: Logger;
  /** The hosted pages' CSRF key, the same in every process. */
  csrfKey: Uint8Array;
  /** The secret helpers send with forwarded requests (http-bridge forwardToken). */
  forwardToken: string;
  /** The primary's HTTP metrics (`/metrics` text for helpers). */
  metrics: HttpMetrics;
  /** Adds the requests a helper answered to the primary's metrics. */
  helperRequests: (rows: TallyRows) => void;
  /** Adds the logins a helper counted to the primary's metrics. */
  helperLogins: (rows: LoginRows) => void;
  /** Answers a request a helper forwarded (the primary's app; see http-bridge/forward.ts). */
  answer: (request: ForwardedRequest) => Promise<ForwardedResponse>;
  /** Requests answered and writes committed by the primary so far (for the write share). */
  counts: () => { requests: number; writes: number };
  /**
   * Asks clients of the primary to reconnect, so they spread over every serving process:
   * called with `share` = serving / (serving + 1) when a helper starts serving, and with 0.2
   * at each busy sample while helpers serve (the busy primary accepts fewer of them).
   */
  rebalance?: (share: number) => void;
  policy?: ScalePolicyOptions;
  /** How often utilisation is sampled (default 100 ms). */
  sampleMs?: number;
}

interface Helper {
  child: ChildProcess;
  serving: boolean;
  exited: Promise<void>;
}

/** The primary's side: starts, feeds and stops helpers. */
export class HelperPool {
  readonly #options: HelperPoolOptions;
  readonly #helpers = new Set<Helper>();
  readonly #policy: ScalePolicy;
  readonly #busyAt: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopping = false;

  constructor(options: HelperPoolOptions) {
    this.#options = options;
    this.#policy = new ScalePolicy(options.policy);
    this.#busyAt = options.policy?.busyAt ?? 0.85;
  }

  start(): void {
    if (this.#options.max < 1) return;
    if (this.#options.scaling === "always") {
      for (let i = 0; i < this.#options.max; i++) this.#spawn();
      return;
    }
    let last = performance.eventLoopUtilization();
    let lastCounts = this.#options.counts();
    this.#timer = setInterval(() => {
      const now = performance.eventLoopUtilization();
      const counts = this.#options.counts();
      const requests = counts.requests - lastCounts.requests;
      const sample = {
        utilization: performance.eventLoopUtilization(now, last).utilization,
        writeShare: requests > 0 ? Math.min(1, (counts.writes - lastCounts.writes) / requests) : 0,
      };
      last = now;
      lastCounts = counts;
      const decision = this.#policy.observe(sample, Date.now(), this.#helpers.size, this.#options.max);
      if (decision === undefined && sample.utilization >= this.#busyAt && this.#serving() > 0) this.#options.rebalance?.(0.2);
      if (decision === "start") this.#spawn();
      else if (decision === "stop") this.#retireOne();
    }, this.#options.sampleMs ?? 100);
    this.#timer.unref();
  }

  /** Drains every helper and waits for them to exit (SIGKILL after `graceMs`). */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#timer);
    await Promise.all([...this.#helpers].map((helper) => this.#drain(helper, graceMs)));
  }

  #serving(): number {
    let n = 0;
    for (const helper of this.#helpers) if (helper.serving) n++;
    return n;
  }

  #spawn(): void {
    if (this.#stopping) return;
    const { logger } = this.#options;
    const child = fork(process.argv[1]!, process.argv.slice(2), {
      env: { ...process.env, RAMPART_ROLE: "http-helper" },
      execArgv: process.execArgv,
      // Structured clone: request and response bodies cross as bytes, not JSON arrays.
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const helper: Helper = { child, serving: false, exited };
    this.#helpers.add(helper);
    logger.info({ helper_pid: child.pid }, "starting an HTTP helper process");
    child.on("message", (message: HelperMessage) => this.#onMessage(helper, message));
    child.once("exit", (code, signal) => {
      this.#helpers.delete(helper);
      if (this.#stopping) return;
      (code === 0 ? logger.info : logger.warn).call(logger, { helper_pid: child.pid, code, signal }, "HTTP helper process exited");
      // With `always`, a helper that died is replaced (after a pause, should it die at start).
      if (this.#options.scaling === "always" && code !== 0) setTimeout(() => this.#spawn(), 1000).unref();
    });
    child.on("error", (err) => logger.warn({ helper_pid: child.pid, err: err.message }, "HTTP helper process error"));
  }

  #onMessage(helper: Helper, message: HelperMessage): void {
    const { child } = helper;
    switch (message.t) {
      case "hello":
        child.send(
          { t: "serve", csrfKey: Buffer.from(this.#options.csrfKey).toString("base64"), forwardToken: this.#options.forwardToken } satisfies HelperMessage,
          this.#options.server,
        );
        return;
      case "serving": {
        helper.serving = true;
        this.#options.logger.info({ helper_pid: child.pid }, "HTTP helper process serving");
        const serving = this.#serving();
        this.#options.rebalance?.(serving / (serving + 1));
        return;
      }
      case "request":
        void this.#options.answer(message.request).then(
          (response) => child.connected && child.send({ t: "response", id: message.id, response } satisfies HelperMessage),
          (err: unknown) => child.connected && child.send({ t: "response", id: message.id, error: (err as Error).message } satisfies HelperMessage),
        );
        return;
      case "observations":
        this.#options.helperRequests(message.requests);
        this.#options.helperLogins(message.logins);
        return;
      case "render":
        void this.#options.metrics
          .render()
          .then(({ contentType, body }) => child.connected && child.send({ t: "rendered", id: message.id, contentType, body } satisfies HelperMessage));
        return;
      default:
        return;
    }
  }

  #retireOne(): void {
    const helper = [...this.#helpers].find((h) => h.serving);
    if (!helper) return;
    this.#options.logger.info({ helper_pid: helper.child.pid }, "stopping an HTTP helper process (idle or write-bound load)");
    void this.#drain(helper, 30_000);
  }

  async #drain(helper: Helper, graceMs: number): Promise<void> {
    if (helper.child.connected) helper.child.send({ t: "drain" } satisfies HelperMessage);
    else helper.child.kill("SIGTERM");
    const timer = setTimeout(() => helper.child.kill("SIGKILL"), graceMs + 2000);
    await helper.exited;
    clearTimeout(timer);
  }
}

/** A helper's requests to the primary, each answered by a message with the same id. */
class PrimaryRequests {
  readonly #pending = new Map<number, (message: HelperMessage) => void>();
  #nextId = 1;
  readonly #send: (message: HelperMessage) => void;

  constructor(send: (message: HelperMessage) => void) {
    this.#send = send;
  }

  /** Sends `make(id)` and resolves with the answer (rejects after `timeoutMs`). */
  ask(make: (id: number) => HelperMessage, what: string, timeoutMs: number): Promise<HelperMessage> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`the primary process did not answer (${what})`));
      }, timeoutMs);
      this.#pending.set(id, (message) => {
        clearTimeout(timer);
        const failed = (message as { error?: string }).error;
        if (failed !== undefined) reject(new Error(failed));
        else resolve(message);
      });
      this.#send(make(id));
    });
  }

  /** Rejects every request still waiting (the primary is gone). */
  failAll(reason: string): void {
    const waiting = [...this.#pending.values()];
    this.#pending.clear();
    for (const settle of waiting) settle({ t: "response", id: 0, error: reason });
  }

  /** Routes an answer to its request. */
  answer(message: HelperMessage): void {
    if (message.t !== "rendered" && message.t !== "response") return;
    this.#pending.get(message.id)?.(message);
    this.#pending.delete(message.id);
  }
}

/** What a helper process uses instead of its own metrics registry and database writes. */
export interface HelperLink {
  metrics: HttpMetrics;
  core: MetricsSink;
  /** Has the primary answer a request that may write. */
  forward(request: ForwardedRequest): Promise<ForwardedResponse>;
  /** Sends what is still batched (before exiting). */
  flush(): void;
  /** Feed every message from the primary here. */
  onMessage(message: HelperMessage): void;
  /** The primary is gone: every request waiting for it fails now. */
  primaryGone(): void;
}

/**
 * A helper's side of the IPC channel: metrics observations go to the primary in batches
 * (once a second, and at `flush`), `/metrics` is the primary's registry, and requests that
 * may write are answered by the primary.
 */
export function helperLink(send: (message: HelperMessage) => void): HelperLink {
  const answered = new RequestTally();
  const logins = new LoginTally();
  const requests = new PrimaryRequests(send);
  const flush = (): void => {
    const rows = answered.take();
    const counted = logins.take();
    if (rows.length === 0 && counted.length === 0) return;
    send({ t: "observations", requests: rows, logins: counted });
  };
  setInterval(flush, 1000).unref();
  return {
    core: {
      login: (kind, outcome) => logins.observe(kind, outcome),
      // Helpers never deliver webhooks (the primary's worker does).
      webhookAttempt: () => undefined,
    },
    metrics: {
      observe: (route, method, status, seconds) => answered.observe(route, method, status, seconds),
      async render() {
        const answer = await requests.ask((id) => ({ t: "render", id }), "metrics", 5000);
        if (answer.t !== "rendered") throw new Error("the primary process sent no metrics");
        return { contentType: answer.contentType, body: answer.body };
      },
    },
    async forward(request) {
      const answer = await requests.ask((id) => ({ t: "request", id, request }), `${request.method} ${request.url}`, 120_000);
      if (answer.t !== "response" || !answer.response) throw new Error("the primary process sent no response");
      return answer.response;
    },
    flush,
    onMessage: (message) => requests.answer(message),
    primaryGone: () => requests.failAll("the primary process is gone"),
  };
}
