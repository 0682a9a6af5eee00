import type { MiddlewareHandler } from "hono";
import { EMPTY_LEDGER } from "../../domain/cost";
import { meteredDatabase } from "../../db/metered";
import type { AppEnv } from "../app-env";

/**
 * Starts the request's cost ledger (one Worker invocation) and has every D1 statement of the request count
 * its rows into it; a route that creates a job charges the job with it (efficiency.md, "how to count").
 */
export function requestCost(): MiddlewareHandler<AppEnv> {
  return async function requestCostMiddleware(c, next) {
    const cost = { ...EMPTY_LEDGER, workerInvocations: 1 };
    c.set("cost", cost);
    c.env = { ...c.env, DB: meteredDatabase(c.env.DB, cost) };
    return next();
  };
}
