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
