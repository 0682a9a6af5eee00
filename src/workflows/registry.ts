import { assetDelete } from "./asset-delete";
import type { Workflow } from "./definition";
import { drmswitch } from "./drmswitch";
import { selftest } from "./selftest";
import { voddelete } from "./voddelete";

/** The catalogue: every workflow this engine runs, by name. */
const catalogue: ReadonlyMap<string, Workflow> = new Map(
  [selftest, voddelete, assetDelete, drmswitch].map((workflow) => [workflow.name, workflow]),
);

export function findWorkflow(name: string): Workflow | undefined {
  return catalogue.get(name);
}

export function workflowNames(): string[] {
  return [...catalogue.keys()].sort();
}

export function allWorkflows(): Workflow[] {
  return [...catalogue.values()];
}
