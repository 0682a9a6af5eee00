// CPU time of the local runtimes (Linux /proc), for "CPU per job" in bench/e2e-latency.ts.
//
// wrangler's unstable_startWorker runs two workerd processes per worker, both children of this Node process:
// the worker's runtime (it hosts the Worker, its Durable Objects, queues, D1 and Workflows; it listens on an
// ephemeral port) and wrangler's dev proxy (it listens on the worker's public URL and forwards each request to
// the runtime; a deployed Worker has no such hop). `startedProcesses` tells them apart by that port.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, almost always 100). */
const TICKS_PER_SECOND = ((): number => {
  const result = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const value = Number(result.stdout?.trim());
  return Number.isInteger(value) && value > 0 ? value : 100;
})();

/** The resolution of `cpuMs`, in ms. */
export const CPU_RESOLUTION_MS = 1000 / TICKS_PER_SECOND;

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** Live child processes of `pid` (from every thread's `children` list). */
export function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((task) => (read(`/proc/${pid}/task/${task}/children`) ?? "").trim().split(/\s+/).filter(Boolean).map(Number));
}

/** The workerd processes among this process's children. */
export function workerdChildren(): number[] {
  return childrenOf(process.pid).filter((pid) => read(`/proc/${pid}/comm`)?.trim() === "workerd");
}

/**
 * User + system CPU time of a process, in ms: its own threads, its reaped children (cutime / cstime) and its
 * live descendants. null when the process is gone.
 */
export function cpuMs(pid: number): number | null {
  const stat = read(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // The fields after "(comm)": state is field 3, utime 14, stime 15, cutime 16, cstime 17.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index] ?? 0), 0);
  const descendants = childrenOf(pid).reduce((sum, child) => sum + (cpuMs(child) ?? 0), 0);
  return ticks * CPU_RESOLUTION_MS + descendants;
}

export interface WorkerProcesses {
  /** The workerd process that runs the worker (null when it could not be told apart). */
  runtime: number | null;
  /** wrangler's dev proxy in front of it. */
  proxy: number | null;
}

/**
 * The workerd processes a worker started since `before` (a `workerdChildren()` list): the one listening on the
 * worker's public port is the proxy, the other the runtime. Call it once a request through the worker has been
 * answered: wrangler may spawn the runtime after `worker.ready`. Waits up to 5 s for exactly one of each.
 */
export async function startedProcesses(before: number[], port: string): Promise<WorkerProcesses> {
  const listensOnPort = (pid: number): boolean => (read(`/proc/${pid}/cmdline`) ?? "").split("\0").includes(`--socket-addr=entry=127.0.0.1:${port}`);
  const deadline = Date.now() + 5_000;
  for (;;) {
    const started = workerdChildren().filter((pid) => !before.includes(pid));
    const proxies = started.filter(listensOnPort);
    const runtimes = started.filter((pid) => !listensOnPort(pid));
    if ((runtimes.length === 1 && proxies.length === 1) || Date.now() > deadline) {
      return { runtime: runtimes.length === 1 ? runtimes[0]! : null, proxy: proxies.length === 1 ? proxies[0]! : null };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Waits until a process has gone quiet (less than `quietMs` of CPU over `windowMs`), or `maxMs` passed, so
 * that work a burst left behind (deliveries being recorded, instances being finalised) is counted.
 */
export async function settle(pid: number, windowMs = 500, quietMs = 15, maxMs = 15_000): Promise<void> {
  const start = Date.now();
  let last = cpuMs(pid);
  while (last !== null && Date.now() - start < maxMs) {
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const now = cpuMs(pid);
    if (now === null || now - last < quietMs) return;
    last = now;
  }
}
