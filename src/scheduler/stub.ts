import type { ClientScheduler } from "./client-scheduler";

export type ClientSchedulerApi = Pick<ClientScheduler, "sync" | "configure" | "view">;

/** The admission control of one client (one Durable Object per client, named by the client). */
export function schedulerFor(namespace: Env["CLIENT_SCHEDULER"], client: string): ClientSchedulerApi {
  return namespace.get(namespace.idFromName(client)) as unknown as ClientSchedulerApi;
}
