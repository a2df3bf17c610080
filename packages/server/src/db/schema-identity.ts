import type { ColumnType, Generated } from "kysely";

/** Row types of migrations/20261201_0005_identity.sql (second factors, API tokens, MSP). */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type GeneratedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface UserTotpTable {
  user_id: string;
  secret_sealed: string;
  confirmed_at: Timestamp | null;
  last_used_step: number | null;
  created_at: GeneratedTimestamp;
}

export interface UserRecoveryCodesTable {
  id: Generated<string>;
  user_id: string;
  code_hash: Buffer;
  created_at: GeneratedTimestamp;
  used_at: Timestamp | null;
}

export interface PendingSignInsTable {
  id: Generated<string>;
  user_id: string;
  token_hash: Buffer;
  created_at: GeneratedTimestamp;
  expires_at: Timestamp;
  attempts: Generated<number>;
  used_at: Timestamp | null;
}

export interface OrganizationSecuritySettingsTable {
  organization_id: Generated<string>;
  two_factor_required: Generated<"off" | "admins" | "all">;
  updated_at: GeneratedTimestamp;
}

export interface ApiTokensTable {
  id: Generated<string>;
  organization_id: Generated<string>;
  name: string;
  role: string;
  token_hash: Buffer;
  hint: string;
  created_by: string | null;
  created_at: GeneratedTimestamp;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface MspClientsTable {
  organization_id: Generated<string>;
  msp_organization_id: string;
  created_by: string | null;
  created_at: GeneratedTimestamp;
}

export interface MspAssignmentsTable {
  organization_id: Generated<string>;
  msp_organization_id: string;
  user_id: string;
  assigned_by: string | null;
  created_at: GeneratedTimestamp;
}

export interface IdentityDB {
  user_totp: UserTotpTable;
  user_recovery_codes: UserRecoveryCodesTable;
  pending_sign_ins: PendingSignInsTable;
  organization_security_settings: OrganizationSecuritySettingsTable;
  api_tokens: ApiTokensTable;
  msp_clients: MspClientsTable;
  msp_assignments: MspAssignmentsTable;
}

type Columns<T> = { [K in keyof T]-?: true };

/** The columns the row types above declare, for the schema test (testing/declared-columns.ts). */
export const IDENTITY_DECLARED_COLUMNS: { [T in keyof IdentityDB]: Columns<IdentityDB[T]> } = {
  user_totp: {
    user_id: true,
    secret_sealed: true,
    confirmed_at: true,
    last_used_step: true,
    created_at: true,
  },
  user_recovery_codes: { id: true, user_id: true, code_hash: true, created_at: true, used_at: true },
  pending_sign_ins: {
    id: true,
    user_id: true,
    token_hash: true,
    created_at: true,
    expires_at: true,
    attempts: true,
    used_at: true,
  },
  organization_security_settings: { organization_id: true, two_factor_required: true, updated_at: true },
  api_tokens: {
    id: true,
    organization_id: true,
    name: true,
    role: true,
    token_hash: true,
    hint: true,
    created_by: true,
    created_at: true,
    expires_at: true,
    last_used_at: true,
    revoked_at: true,
  },
  msp_clients: { organization_id: true, msp_organization_id: true, created_by: true, created_at: true },
  msp_assignments: {
    organization_id: true,
    msp_organization_id: true,
    user_id: true,
    assigned_by: true,
    created_at: true,
  },
};
