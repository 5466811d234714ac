/**
 * Webhook delivery: the durable outbox and the worker that drains it.
 *
 * When an event is written, one delivery row per matching active hook is written in the same
 * transaction (so no event is ever lost between commit and send). The worker sends each as a
 * signed POST of the Get-an-event JSON; 2xx completes it, anything else is retried with
 * exponential backoff and jitter (about 10 s, doubling, capped at 1 h) for about 2 days, then
 * it fails. Deliveries in flight when the process dies are still `in_progress` in the
 * database and are sent again after a restart (at least once; receivers dedupe by the
 * delivery id header). Concurrency is bounded overall and per destination host, so a slow
 * or dead receiver delays no other hook.
 */
import type { JsonObject } from "./context.ts";
import type { Logger } from "./deps.ts";
import type { Runtime } from "./runtime.ts";
import { seconds } from "./runtime.ts";
import type { Sql } from "./storage/sqlite.ts";

/** A delivery (a notification) as stored. */
export interface DeliveryRow {
  id: string;
  app_hook_id: string;
  event_id: string;
  state: "in_progress" | "completed" | "failed" | "canceled";
  attempts: number;
  last_attempt_at: number | null;
  last_destination: string | null;
  last_result: string | null;
  next_attempt_at: number;
  give_up_at: number;
  created_at: number;
}

/** An active webhook as the outbox sees it. */
export interface ActiveHook {
  id: string;
  realm_id: string | null;
  /** Empty = every event, including types added later. */
  event_types: string[];
}

/** Retry schedule: first retry after ~10 s, doubling, capped at 1 h, for ~2 days. */
export const RETRY = { firstDelaySeconds: 10, maxDelaySeconds: 3600, giveUpAfterSeconds: 2 * 86_400, jitter: 0.2 } as const;

/** The v1 JSON of a notification. */
export function notificationJson(row: DeliveryRow): JsonObject {
  return {
    id: row.id,
    object: "notification",
    app_hook_id: row.app_hook_id,
    event_id: row.event_id,
    state: row.state,
    attempts: row.attempts,
    last_attempt_at: row.last_attempt_at,
    last_destination: row.last_destination,
    last_result: row.last_result,
  };
}

/** Notifications of a set of events, grouped by event id, in one query. */
export function notificationsOf(sql: Sql, eventIds: string[]): Map<string, JsonObject[]> {
  const out = new Map<string, JsonObject[]>();
  if (eventIds.length === 0) return out;
  const rows = sql.all<DeliveryRow>("SELECT * FROM deliveries WHERE event_id IN (SELECT value FROM json_each(?)) ORDER BY id", JSON.stringify(eventIds));
  for (const row of rows) {
    const list = out.get(row.event_id) ?? [];
    list.push(notificationJson(row));
    out.set(row.event_id, list);
  }
  return out;
}

/** True when `hook` wants events of `type` in `realmId`. */
export function hookMatches(hook: ActiveHook, type: string, realmId: string | null): boolean {
  if (hook.realm_id !== null && hook.realm_id !== realmId) return false;
  return hook.event_types.length === 0 || hook.event_types.includes(type);
}

/** Seconds until the next attempt after `attempts` failures, with ±20 % jitter. */
export function retryDelay(attempts: number, random: () => number): number {
  const base = Math.min(RETRY.firstDelaySeconds * 2 ** Math.max(0, attempts - 1), RETRY.maxDelaySeconds);
  return base * (1 - RETRY.jitter + 2 * RETRY.jitter * random());
}

/**
 * Writes one delivery row per matching hook for a new event. Call inside the event's write
 * transaction. Returns how many were queued.
 */
export function enqueueDeliveries(sql: Sql, rt: Runtime, hooks: readonly ActiveHook[], eventId: string, type: string, realmId: string | null): number {
  const now = seconds(rt.clock());
  let queued = 0;
  for (const hook of hooks) {
    if (!hookMatches(hook, type, realmId)) continue;
    sql.run(
      `INSERT INTO deliveries (id, app_hook_id, event_id, state, attempts, next_attempt_at, give_up_at, created_at)
       VALUES (?, ?, ?, 'in_progress', 0, ?, ?, ?)`,
      rt.ids.next("ent"),
      hook.id,
      eventId,
      now,
      now + RETRY.giveUpAfterSeconds,
      now,
    );
    queued++;
  }
  return queued;
}

const encoder = new TextEncoder();

/** `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` */
export async function signatureHeader(secret: string, body: string, unixSeconds: number): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`${unixSeconds}.${body}`)));
  let hex = "";
  for (const b of mac) hex += b.toString(16).padStart(2, "0");
  return `t=${unixSeconds},v1=${hex}`;
}

/** What the worker needs from its host runtime. */
export interface DeliveryWorkerOptions {
  /** The HTTP client (Web `fetch`). */
  fetch: typeof fetch;
  /** Builds the Get-an-event JSON body for an event id. */
  eventBody: (eventId: string) => string | undefined;
  logger: Logger;
  /** Most attempts in flight at once (default 16). */
  concurrency?: number;
  /** Most attempts in flight per destination host (default 2). */
  perDestination?: number;
  /** Per-attempt timeout (default 10 s). */
  timeoutMs?: number;
  /** How often to look for due deliveries when idle (default 1 s). */
  pollMs?: number;
  /** Uniform [0, 1) for jitter (default Math.random). */
  random?: () => number;
}

interface HookRow {
  id: string;
  state: string;
  destination: string;
  secret: string;
}

/** Drains the outbox. One per process; start() it in servers, or call deliverDue() in tests. */
export class DeliveryWorker {
  readonly #rt: Runtime;
  readonly #options: Required<Omit<DeliveryWorkerOptions, "logger" | "eventBody" | "fetch">> & Pick<DeliveryWorkerOptions, "logger" | "eventBody" | "fetch">;
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #perHost = new Map<string, number>();
  readonly #controllers = new Set<AbortController>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;
  #pumping = false;

  constructor(rt: Runtime, options: DeliveryWorkerOptions) {
    this.#rt = rt;
    this.#options = { concurrency: 16, perDestination: 2, timeoutMs: 10_000, pollMs: 1000, random: Math.random, ...options };
  }

  /** Starts polling (and reacting to wake()). */
  start(): void {
    this.#running = true;
    this.wake();
  }

  /** Looks for due deliveries now (called after a commit that queued some). */
  wake(): void {
    if (!this.#running) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
      if (this.#running) this.#timer = setTimeout(() => this.wake(), this.#options.pollMs);
    }, 0);
  }

  /** Attempts every due delivery (respecting the limits) and waits for those attempts. */
  async deliverDue(): Promise<number> {
    const started = this.#pump();
    await Promise.all([...this.#inFlight.values()]);
    return started;
  }

  /** Attempts currently in flight. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Stops claiming work and waits up to `graceMs` for in-flight attempts; the rest are
   * aborted and stay `in_progress`, to be sent again after the next start.
   */
  async stop(graceMs = 5000): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const all = Promise.all([...this.#inFlight.values()]);
    let timeout: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => (timeout = setTimeout(() => resolve("late"), graceMs)));
    const outcome = await Promise.race([all.then(() => "done" as const), late]);
    clearTimeout(timeout);
    if (outcome === "late") {
      for (const c of this.#controllers) c.abort(new Error("shutting down"));
      await all;
    }
  }

  #pump(): number {
    if (this.#pumping) return 0;
    this.#pumping = true;
    let started = 0;
    try {
      const free = this.#options.concurrency - this.#inFlight.size;
      if (free <= 0) return 0;
      const now = seconds(this.#rt.clock());
      // Look further than `free` so one busy host cannot starve the others.
      const due = this.#rt.db.all<DeliveryRow & { destination: string; secret: string; hook_state: string }>(
        `SELECT d.*, h.destination, h.secret, h.state AS hook_state FROM deliveries d LEFT JOIN app_hooks h ON h.id = d.app_hook_id
         WHERE d.state = 'in_progress' AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at LIMIT ?`,
        now,
        free * 4 + this.#inFlight.size,
      );
      for (const row of due) {
        if (started >= free) break;
        if (this.#inFlight.has(row.id)) continue;
        if (row.hook_state !== "active" || row.destination === null) {
          this.#rt.db.writeSync((sql) => sql.run("UPDATE deliveries SET state = 'canceled' WHERE id = ? AND state = 'in_progress'", row.id));
          continue;
        }
        const host = hostOf(row.destination);
        if ((this.#perHost.get(host) ?? 0) >= this.#options.perDestination) continue;
        this.#perHost.set(host, (this.#perHost.get(host) ?? 0) + 1);
        const attempt = this.#attempt(row, { id: row.app_hook_id, state: row.hook_state, destination: row.destination, secret: row.secret }).finally(() => {
          this.#inFlight.delete(row.id);
          const n = (this.#perHost.get(host) ?? 1) - 1;
          if (n <= 0) this.#perHost.delete(host);
          else this.#perHost.set(host, n);
          // A slot opened: look for more work.
          if (this.#running) this.wake();
        });
        this.#inFlight.set(row.id, attempt);
        started++;
      }
    } finally {
      this.#pumping = false;
    }
    return started;
  }

  async #attempt(delivery: DeliveryRow, hook: HookRow): Promise<void> {
    const body = this.#options.eventBody(delivery.event_id);
    if (body === undefined) {
      await this.#finish(delivery, hook, "failed", "event no longer exists");
      return;
    }
    const controller = new AbortController();
    this.#controllers.add(controller);
    const timer = setTimeout(() => controller.abort(new Error("timeout")), this.#options.timeoutMs);
    let result: string;
    let ok = false;
    try {
      const unix = Math.floor(this.#rt.clock() / 1000);
      const response = await this.#options.fetch(hook.destination, {
        method: "POST",
        body,
        redirect: "manual",
        signal: controller.signal,
        headers: {
          "content-type": "application/json",
          "user-agent": "Rampart-Webhooks/1",
          "x-rampart-signature": await signatureHeader(hook.secret, body, unix),
          "x-rampart-event-id": delivery.event_id,
          "x-rampart-hook-id": hook.id,
          "x-rampart-delivery-id": delivery.id,
        },
      });
      // Drain (bounded by the timeout) so the connection can be reused.
      await response.arrayBuffer().catch(() => undefined);
      ok = response.status >= 200 && response.status < 300;
      result = `HTTP ${response.status}`;
    } catch (err) {
      result = controller.signal.aborted
        ? String((controller.signal.reason as Error)?.message) === "timeout"
          ? "timeout"
          : "aborted"
        : describeFetchError(err);
    } finally {
      clearTimeout(timer);
      this.#controllers.delete(controller);
    }
    if (result === "aborted") return; // shutdown: left in_progress for the next start
    await this.#finish(delivery, hook, ok ? "completed" : "retry", result);
  }

  async #finish(delivery: DeliveryRow, hook: HookRow, outcome: "completed" | "failed" | "retry", result: string): Promise<void> {
    const now = seconds(this.#rt.clock());
    const attempts = delivery.attempts + 1;
    let state: DeliveryRow["state"] = outcome === "completed" ? "completed" : outcome === "failed" ? "failed" : "in_progress";
    let next = delivery.next_attempt_at;
    if (outcome === "retry") {
      next = now + retryDelay(attempts, this.#options.random);
      if (next > delivery.give_up_at) state = "failed";
    }
    this.#rt.metrics.webhookAttempt(state === "in_progress" ? "retry" : state === "completed" ? "completed" : "failed");
    try {
      await this.#rt.db.write((sql) =>
        sql.run(
          `UPDATE deliveries SET state = ?, attempts = ?, last_attempt_at = ?, last_destination = ?, last_result = ?, next_attempt_at = ?
           WHERE id = ? AND state = 'in_progress'`,
          state,
          attempts,
          now,
          hook.destination,
          result,
          next,
          delivery.id,
        ),
      );
    } catch (err) {
      // The database closed under us (shutdown): the delivery stays in_progress and is retried.
      this.#options.logger.warn({ delivery_id: delivery.id, err: (err as Error).message }, "could not record a webhook attempt");
    }
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: string } })?.cause;
  if (cause?.code === "ECONNREFUSED") return "connection refused";
  if (cause?.code) return `network error (${cause.code})`;
  return "network error";
}
