// `task-engine` (npm run cli -- …): submit, list, get, logs and watch jobs from a terminal, on the typed client.
// By default it talks to `npm run dev`'s engine with the development client's credentials
// (.wrangler/dev-client.json); --engine, --client and --api-key (or TASK_ENGINE_URL, TASK_ENGINE_CLIENT,
// TASK_ENGINE_API_KEY) point it elsewhere.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createClient, TaskEngineError, type Job } from "./index.ts";

const USAGE = `usage: task-engine <command> [options]

  submit <workflow> [key=value …] [--json '{…}']   submit a job (values parsed as JSON when they are), print its id
  list [--state S] [--workflow W] [--failed 0|1] [--limit N]   the newest jobs
  get <job_id>                                   the job, as JSON
  logs <job_id>                                  its log
  watch <job_id>                                 follow it until it ends, with a progress bar per task

options: --engine URL (http://localhost:8787) --client NAME --api-key KEY`;

function credentials(values: { engine?: string; client?: string; "api-key"?: string }): { baseUrl: string; client: string; apiKey: string } {
  const file = join(dirname(fileURLToPath(import.meta.url)), "..", ".wrangler", "dev-client.json");
  const dev = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as { client?: string; api_key?: string }) : {};
  const client = values.client ?? process.env.TASK_ENGINE_CLIENT ?? dev.client;
  const apiKey = values["api-key"] ?? process.env.TASK_ENGINE_API_KEY ?? dev.api_key;
  if (!client || !apiKey) throw new Error("no credentials: run `npm run dev` once (it writes .wrangler/dev-client.json), or pass --client and --api-key");
  return { baseUrl: values.engine ?? process.env.TASK_ENGINE_URL ?? "http://localhost:8787", client, apiKey };
}

/** `key=value` pairs as parameters; a value that parses as JSON is taken as JSON (`tasks=3`, `drm=["clear"]`). */
export function parameterPairs(pairs: string[]): Record<string, unknown> {
  const parameters: Record<string, unknown> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new Error(`'${pair}' is not key=value`);
    const text = pair.slice(at + 1);
    try {
      parameters[pair.slice(0, at)] = JSON.parse(text);
    } catch {
      parameters[pair.slice(0, at)] = text;
    }
  }
  return parameters;
}

/** A text progress bar: `[██████░░░░]  60%`. */
export function bar(percent: number, width = 20): string {
  const shown = Math.max(0, Math.min(100, percent));
  const filled = Math.round((shown / 100) * width);
  return `[${"█".repeat(filled)}${"░".repeat(width - filled)}] ${String(Math.round(shown)).padStart(3)}%`;
}

function describe(job: Job): string {
  const lines = [`${job.id}  ${job.workflow}  ${job.queue_state}${job.failed ? " (failed)" : ""}  ${bar(job.progress ?? 0)}`];
  for (const task of job.tasks ?? []) lines.push(`  ${task.task_name.padEnd(24)} ${task.state.padEnd(10)} ${bar(task.state === "completed" ? 100 : (task.progress ?? 0), 10)}${task.attempts > 1 ? `  attempt ${task.attempts}` : ""}`);
  return lines.join("\n");
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { engine: { type: "string" }, client: { type: "string" }, "api-key": { type: "string" }, json: { type: "string" }, state: { type: "string" }, workflow: { type: "string" }, failed: { type: "string" }, limit: { type: "string" }, help: { type: "boolean" } },
  });
  const [command, ...rest] = positionals;
  if (!command || values.help) return void console.log(USAGE);
  const api = createClient(credentials(values));
  switch (command) {
    case "submit": {
      if (!rest[0]) throw new Error("submit needs a workflow name");
      const parameters = { ...(values.json ? (JSON.parse(values.json) as Record<string, unknown>) : {}), ...parameterPairs(rest.slice(1)) };
      const accepted = await api.job.postJob({ job: { workflow: rest[0] }, parameters });
      return void console.log(accepted.id);
    }
    case "list": {
      const jobs = await api.jobs.getJobs({ state: values.state, workflow: values.workflow, failed: values.failed, limit: values.limit ? Number(values.limit) : 20 });
      for (const job of jobs) console.log(`${job.id}  ${job.created_at}  ${job.workflow.padEnd(16)} ${job.queue_state}${job.failed ? " (failed)" : ""}  ${bar(job.progress ?? 0, 10)}`);
      return;
    }
    case "get":
      return void console.log(JSON.stringify(await api.jobs.getJobsById(need(rest[0])), null, 2));
    case "logs":
      for (const line of await api.logs.getLogsById(need(rest[0]))) console.log(`${line.created_at}  ${line.severity_description.padEnd(7)} ${line.message}`);
      return;
    case "watch": {
      let shown = 0;
      let last: Job | undefined;
      for await (const job of api.followJob(need(rest[0]))) {
        const text = describe(job);
        // Redraw in place on a terminal; one snapshot per change otherwise.
        if (process.stdout.isTTY && shown > 0) process.stdout.write(`\x1b[${shown}A\x1b[0J`);
        if (process.stdout.isTTY || text !== (last && describe(last))) process.stdout.write(`${text}\n`);
        shown = text.split("\n").length;
        last = job;
      }
      process.exitCode = last?.failed ? 1 : 0;
      return;
    }
    default:
      throw new Error(`unknown command '${command}'\n${USAGE}`);
  }
}

function need(id: string | undefined): string {
  if (!id) throw new Error("a job id is needed");
  return id;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof TaskEngineError ? `${error.status} ${error.code}: ${error.message}${error.details.length ? `\n${error.details.map((detail) => `  ${detail.path}: ${detail.message}`).join("\n")}` : ""}` : (error as Error).message);
    process.exitCode = 2;
  });
}
