/** A D1 statement as data, so it can be stored in a coordinator's projection outbox before it runs. */
export type SqlValue = string | number | null;
export interface Statement {
  sql: string;
  params: SqlValue[];
}

export function bind(db: D1Database, statement: Statement): D1PreparedStatement {
  return db.prepare(statement.sql).bind(...statement.params);
}

export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
