/**
 * A D1 database that counts what it is billed for: every statement run through it adds D1's own
 * `meta.rows_read` / `meta.rows_written` to a ledger. The API wraps its binding with it per request, so the
 * request's D1 cost can be charged to the job it creates without each query reporting its meta by hand.
 *
 * `first()` has no meta in D1's API, so it runs as `all()` here and takes the first row (same result).
 */

export interface D1Usage {
  d1RowsRead: number;
  d1RowsWritten: number;
}

export function meteredDatabase(db: D1Database, usage: D1Usage): D1Database {
  const count = (meta: D1Meta | undefined) => {
    usage.d1RowsRead += meta?.rows_read ?? 0;
    usage.d1RowsWritten += meta?.rows_written ?? 0;
  };
  const unwrap = (statement: D1PreparedStatement) => (statement instanceof MeteredStatement ? statement.inner : statement);
  class MeteredStatement {
    constructor(readonly inner: D1PreparedStatement) {}
    bind(...values: unknown[]): D1PreparedStatement {
      return new MeteredStatement(this.inner.bind(...values)) as unknown as D1PreparedStatement;
    }
    async first<T>(column?: string): Promise<T | null> {
      const { results } = await this.all<Record<string, unknown>>();
      const row = results[0];
      if (row === undefined) return null;
      return (column === undefined ? row : (row[column] ?? null)) as T | null;
    }
    async all<T>(): Promise<D1Result<T>> {
      const result = await this.inner.all<T>();
      count(result.meta);
      return result;
    }
    async run<T>(): Promise<D1Result<T>> {
      const result = await this.inner.run<T>();
      count(result.meta);
      return result;
    }
    raw<T>(options?: { columnNames?: boolean }): Promise<T[]> {
      // raw() reports no meta; it is not used by the API, and passes through uncounted.
      return this.inner.raw<T>(options as { columnNames: true }) as Promise<T[]>;
    }
  }
  return {
    prepare: (query: string) => new MeteredStatement(db.prepare(query)) as unknown as D1PreparedStatement,
    batch: async <T>(statements: D1PreparedStatement[]) => {
      const results = await db.batch<T>(statements.map(unwrap));
      for (const result of results) count(result.meta);
      return results;
    },
    exec: (query: string) => db.exec(query),
    dump: () => db.dump(),
    withSession: (constraint?: string) => db.withSession(constraint as never),
  } as D1Database;
}
