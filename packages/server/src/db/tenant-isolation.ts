/** Runs one SQL statement without parameters and returns its rows. */
export type RunSql = <R>(text: string) => Promise<R[]>;

/**
 * Tables without an organization_id, each with the reason it is not tenant data. A new table
 * that is neither listed here nor isolated by organisation fails the schema test and start-up.
 */
export const GLOBAL_TABLES: Readonly<Record<string, string>> = {
  organizations: "the tenant itself; isolated on its id column",
  users: "a person may belong to several organisations; isolated through memberships",
  sessions: "a person's, not an organisation's; read by the system role only",
  setup_tokens: "exist only before the first organisation; system role only",
  rate_limit_buckets: "throttling counters keyed by hashed account and address; system role only",
  schema_migrations: "the schema's own version, no customer data",
  vulnerabilities: "the public vulnerability knowledge base; read-only to tenants",
  vulnerability_aliases: "public advisory ids; read-only to tenants",
  advisories: "public advisories as imported from feeds; read-only to tenants",
  affected_ranges: "public affected package ranges; read-only to tenants",
  cpe_matches: "public CPE applicability from NVD; read-only to tenants",
  feed_state: "the health of the public feeds; read-only to tenants",
  knowledge_base_generation: "a counter of knowledge-base changes; read-only to tenants",
  jobs: "the system's own work queue; system role only, payloads name their organisation",
  user_totp:
    "a person's second factor (sealed); system role only, but for whether and since when one is on, to their organisations",
  user_recovery_codes: "a person's hashed recovery codes; system role only",
  pending_sign_ins: "a person's half-done sign-in; system role only",
  backup_runs:
    "the platform's record of its own backups; the system role, and tenants for their descriptive columns (evidence)",
  restore_tests:
    "the platform's record of its restore tests; the system role, and tenants for their descriptive columns (evidence)",
  status_probes: "the server's own uptime probes for the public status page; no tenant data",
  evidence_keys: "the server's evidence signing key (the private half sealed); system role only",
};

export interface IsolationProblem {
  table: string;
  problem: string;
}

/** Every way the schema falls short of "each tenant table is forced under row-level security". */
export async function findIsolationProblems(run: RunSql): Promise<IsolationProblem[]> {
  const tables = await run<{
    table_name: string;
    has_org_column: boolean;
    rls: boolean;
    forced: boolean;
    tenant_policy: boolean;
  }>(`
    SELECT c.relname AS table_name,
           EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'organization_id'
                   AND NOT a.attisdropped) AS has_org_column,
           c.relrowsecurity AS rls,
           c.relforcerowsecurity AS forced,
           EXISTS (SELECT 1 FROM pg_policies p WHERE p.schemaname = 'public' AND p.tablename = c.relname
                   AND 'patchpilot_app' = ANY (p.roles)) AS tenant_policy
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
     ORDER BY c.relname`);
  const problems: IsolationProblem[] = [];
  for (const t of tables) {
    const global = Object.hasOwn(GLOBAL_TABLES, t.table_name);
    if (!t.has_org_column && !global) {
      problems.push({
        table: t.table_name,
        problem: "has no organization_id and is not a listed global table",
      });
      continue;
    }
    if (!t.has_org_column) continue;
    if (!t.rls) problems.push({ table: t.table_name, problem: "row-level security is not enabled" });
    if (!t.forced) problems.push({ table: t.table_name, problem: "row-level security is not forced" });
    if (!t.tenant_policy) problems.push({ table: t.table_name, problem: "has no policy for patchpilot_app" });
  }
  return problems;
}

export class UnsafeDatabaseRoleError extends Error {
  override name = "UnsafeDatabaseRoleError";
}

/**
 * Refuses to serve when row-level security could be bypassed: the application or system role
 * is a superuser or has BYPASSRLS, or a tenant table is not isolated.
 */
export async function assertIsolationEnforced(run: RunSql): Promise<void> {
  const roles = await run<{ rolname: string; rolsuper: boolean; rolbypassrls: boolean }>(`
    SELECT rolname, rolsuper, rolbypassrls FROM pg_roles
     WHERE rolname IN ('patchpilot_app', 'patchpilot_system')`);
  if (roles.length !== 2)
    throw new UnsafeDatabaseRoleError(
      "the patchpilot_app and patchpilot_system roles are missing; run migrations",
    );
  for (const r of roles) {
    if (r.rolsuper || r.rolbypassrls) {
      throw new UnsafeDatabaseRoleError(
        `database role ${r.rolname} can bypass row-level security (${r.rolsuper ? "SUPERUSER" : "BYPASSRLS"}); ` +
          `run: ALTER ROLE ${r.rolname} NOSUPERUSER NOBYPASSRLS`,
      );
    }
  }
  const problems = await findIsolationProblems(run);
  if (problems.length > 0) {
    throw new UnsafeDatabaseRoleError(
      `tenant isolation is incomplete: ${problems.map((p) => `${p.table} ${p.problem}`).join("; ")}`,
    );
  }
}
