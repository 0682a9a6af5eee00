import type { Executor } from "./executor";
import { selftestWait } from "./selftest-wait";

const executors: ReadonlyMap<string, Executor> = new Map([["selftest.wait", selftestWait]]);

export function findExecutor(name: string): Executor | undefined {
  return executors.get(name);
}
