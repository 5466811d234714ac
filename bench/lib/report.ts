/** The benchmark's results: one row per figure with its target, rendered as markdown and JSON. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Measured } from "./http_load.ts";
import type { StatementCount } from "./statements.ts";
import { fmt } from "./stats.ts";

/** One line of the table. `met` is null for baselines and figures without a target. */
export interface Row {
  id: string;
  scenario: string;
  rps: number | null;
  /** ms */
  p50: number | null;
  /** ms */
  p99: number | null;
  /** What the figure is compared with, e.g. "Fastify hello 17,700 req/s". */
  baseline: string;
  ratio: number | null;
  /** e.g. "≥ 0.5×" */
  target: string;
  met: boolean | null;
  /** The figure judged, when it is not the ratio (e.g. "146 MiB"). */
  value?: string;
  /** Why a figure is invalid or how it was taken. */
  note?: string;
}

/** Everything a run measured; written as JSON next to the markdown. */
export interface Results {
  startedAt: string;
  seconds: number;
  mode: "quick" | "full";
  machine: { cores: number; cpu: string; node: string; loadAverageAtStart: number[]; loadAverageAtEnd: number[] };
  settings: Record<string, unknown>;
  seed: Record<string, unknown>;
  rows: Row[];
  statements: StatementCount[];
  /** Every timed run of every load, for whoever doubts a median. */
  loads: Record<string, Measured>;
  errors: string[];
}

function met(v: boolean | null): string {
  return v === null ? "" : v ? "yes" : "**NO**";
}

/** The main table as markdown. */
export function rowsTable(rows: Row[]): string {
  const lines = [
    "| id | scenario | req/s | p50 ms | p99 ms | baseline | ratio | target | met? |",
    "|---|---|--:|--:|--:|---|--:|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.id} | ${r.scenario}${r.note ? ` (${r.note})` : ""} | ${fmt(r.rps)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.baseline} | ${fmt(r.ratio)} | ${r.target} | ${met(r.met)} |`,
    ),
  ];
  return lines.join("\n");
}

/** Statements per request as markdown. */
export function statementsTable(counts: StatementCount[]): string {
  return [
    "| id | core operation | statements (first call) | statements (steady) | writes (first call) | writes (steady) |",
    "|---|---|--:|--:|--:|--:|",
    ...counts.map((c) => `| ${c.id} | ${c.operation} | ${c.cold.statements} | ${c.warm.statements} | ${c.cold.writes} | ${c.warm.writes} |`),
  ].join("\n");
}

/** The whole report as markdown. */
export function renderMarkdown(results: Results): string {
  const missed = results.rows.filter((r) => r.met === false).map((r) => r.id);
  const measured = results.rows.filter((r) => r.met !== null).length;
  const lines = [
    `# Rampart benchmark — ${results.startedAt} (${results.mode})`,
    "",
    `${results.machine.cores} cores (${results.machine.cpu}), Node ${results.machine.node}; load average at start ` +
      `${results.machine.loadAverageAtStart.map((v) => v.toFixed(2)).join(" ")}, at end ${results.machine.loadAverageAtEnd.map((v) => v.toFixed(2)).join(" ")}. ` +
      `Took ${Math.round(results.seconds)} s.`,
    "",
    missed.length === 0 ? `**All ${measured} targets met.**` : `**Missed ${missed.length} of ${measured} targets: ${missed.join(", ")}.**`,
    "",
    rowsTable(results.rows),
    "",
    "req/s, p50 and p99 are medians over the timed runs; ratios compare medians measured in this same run.",
    "",
    "## SQL statements per request",
    "",
    statementsTable(results.statements),
    "",
    "## Settings",
    "",
    "```json",
    JSON.stringify({ settings: results.settings, seed: results.seed }, null, 2),
    "```",
  ];
  if (results.errors.length > 0) lines.push("", "## Errors", "", ...results.errors.map((e) => `- ${e.replaceAll("\n", " ")}`));
  return `${lines.join("\n")}\n`;
}

/** Writes `<dir>/<stamp>.md|.json` and `<dir>/latest.md|.json`; returns the markdown path. */
export function writeResults(dir: string, results: Results): string {
  mkdirSync(dir, { recursive: true });
  const stamp = results.startedAt.replace(/[:.]/g, "-");
  const md = renderMarkdown(results);
  const json = `${JSON.stringify(results, null, 2)}\n`;
  for (const name of [stamp, "latest"]) {
    writeFileSync(join(dir, `${name}.md`), md);
    writeFileSync(join(dir, `${name}.json`), json);
  }
  return join(dir, `${stamp}.md`);
}
