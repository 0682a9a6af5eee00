import { createRoute, z } from "@hono/zod-openapi";
import { z as zod } from "zod";
import type { Workflow } from "../../workflows/definition";
import { allWorkflows, findWorkflow } from "../../workflows/registry";
import { notFound } from "../errors";
import { newRouter } from "../router";
import { errorResponses, ErrorBody } from "../schemas";

const TaskNode = z
  .object({
    name: z.string(),
    executor: z.string(),
    needs: z.array(z.string()),
    conditional: z.boolean().openapi({ description: "The task may be skipped, depending on the parameters" }),
    runs_on: z.string().openapi({ description: "`edge` (the engine's own consumers) or the worker pool that leases it" }),
  })
  .openapi("WorkflowTask");

const WorkflowEntry = z
  .object({
    name: z.string(),
    description: z.string(),
    parameters: z.record(z.string(), z.unknown()).openapi({ description: "JSON Schema (draft 2020-12) of the job's parameters" }),
    tasks: z.array(TaskNode).openapi({ description: "The task graph for the example parameters" }),
    example: z.record(z.string(), z.unknown()).openapi({ description: "Example parameters" }),
  })
  .openapi("Workflow");

const listRoute = createRoute({
  method: "get",
  path: "/workflows",
  summary: "The workflow catalogue: each workflow's parameters (JSON Schema) and task graph",
  responses: { 200: { description: "The catalogue", content: { "application/json": { schema: z.array(WorkflowEntry) } } }, ...errorResponses },
});

const getRoute = createRoute({
  method: "get",
  path: "/workflows/{name}",
  summary: "One workflow of the catalogue",
  request: { params: z.object({ name: z.string().max(64) }) },
  responses: {
    200: { description: "The workflow", content: { "application/json": { schema: WorkflowEntry } } },
    ...errorResponses,
    404: { description: "No such workflow in the catalogue", content: { "application/json": { schema: ErrorBody } } },
  },
});

const described = new WeakMap<Workflow, z.infer<typeof WorkflowEntry>>();

/** A workflow as the catalogue shows it; computed once per definition. */
function describe(workflow: Workflow): z.infer<typeof WorkflowEntry> {
  let entry = described.get(workflow);
  if (!entry) {
    const example = workflow.parameters.parse(workflow.example);
    entry = {
      name: workflow.name,
      description: workflow.description,
      parameters: zod.toJSONSchema(workflow.parameters, { io: "input", unrepresentable: "any" }) as Record<string, unknown>,
      tasks: workflow.tasks(example).map((task) => ({ name: task.name, executor: task.executor, needs: task.needs ?? [], conditional: task.when !== undefined, runs_on: task.runsOn ?? "edge" })),
      example: workflow.example,
    };
    described.set(workflow, entry);
  }
  return entry;
}

/** GET /workflows and GET /workflows/{name} (ext): the catalogue. */
export const workflowRoutes = newRouter()
  .openapi(listRoute, (c) => c.json(allWorkflows().sort((a, b) => a.name.localeCompare(b.name)).map(describe), 200))
  .openapi(getRoute, (c) => {
    const workflow = findWorkflow(c.req.valid("param").name);
    if (!workflow) throw notFound("Workflow");
    return c.json(describe(workflow), 200);
  });
