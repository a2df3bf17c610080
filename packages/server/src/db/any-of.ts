import { type RawBuilder, sql } from "kysely";

type ArrayType = "uuid" | "integer" | "text" | "bytea";

/**
 * `column = ANY($1::type[])`: one parameter however many values, so the statement's text — and the
 * prepared statement PostgreSQL keeps for it — is the same for every list (`IN (…)` makes a new
 * statement for each list length).
 */
export function anyOf(column: string, values: readonly unknown[], type: ArrayType): RawBuilder<boolean> {
  return sql<boolean>`${sql.ref(column)} = ANY(${values}::${sql.raw(type)}[])`;
}

/**
 * `column IN (SELECT unnest($1::type[]))`, for a long list in a condition that filters scanned rows
 * (beside an OR, say) rather than guiding an index lookup. Every statement here is prepared, and
 * under PostgreSQL's generic plan `= ANY($1)` is tested element by element on each row (measured:
 * 10 s for 100,000 rows against 3,000 names), while the subquery is hashed once (12 ms).
 */
export function inList(column: string, values: readonly unknown[], type: ArrayType): RawBuilder<boolean> {
  return sql<boolean>`${sql.ref(column)} IN (SELECT unnest(${values}::${sql.raw(type)}[]))`;
}
