import { assetDelete } from "./asset-delete";
import { buildThumbnails } from "./build-thumbnails";
import { captureFrame } from "./capture-frame";
import { createMp4 } from "./createmp4";
import { generateGif } from "./generate-gif";
import type { Workflow } from "./definition";
import { drmswitch } from "./drmswitch";
import { selftest } from "./selftest";
import { trickplay } from "./trickplay";
import { voddelete } from "./voddelete";
import { vodcapture } from "./vodcapture";
import { vodstream } from "./vodstream";

/** The catalogue: every workflow this engine runs, by name. */
const catalogue: ReadonlyMap<string, Workflow> = new Map(
  [selftest, voddelete, assetDelete, drmswitch, captureFrame, generateGif, buildThumbnails, createMp4, vodstream, trickplay, vodcapture].map((workflow) => [workflow.name, workflow]),
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
