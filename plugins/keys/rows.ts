import type { KeyRestrictions, SpendPeriod, StoredAccount, StoredKey } from "../../core/index.ts"

/*
 * Rows of the accounts and api_keys tables as both stores read them (SQLite in store.ts,
 * PostgreSQL in postgres.ts), turned into the port's values in one place.
 */

/** An integer column as a driver may hand it back: a number, a bigint, or text. */
type Integer = number | bigint | string

export interface AccountRow {
  readonly id: string
  readonly name: string
  readonly tier: string
  readonly created_at: Integer
  readonly suspended_at: Integer | null
  readonly deleted_at: Integer | null
}

/** A key's restrictions as columns; the spend limit read as text, as nano-USD pass 2^53. */
export interface RestrictionRow {
  readonly spend_limit_nano: Integer | null
  readonly spend_period: string | null
  /** JSON array of ids and globs. */
  readonly models: string | null
  readonly expires_at: Integer | null
  readonly key_rpm: number | null
  readonly key_tpm: number | null
  /** JSON object. */
  readonly metadata: string | null
}

export interface KeyRow extends RestrictionRow {
  readonly id: string
  readonly account_id: string
  readonly name: string | null
  readonly prefix: string
  readonly created_at: Integer
  readonly revoked_at: Integer | null
}

/** The key columns every read selects (never the hash). */
export const KEY_COLUMNS = "id, account_id, name, prefix, created_at, revoked_at, CAST(spend_limit_nano AS TEXT) AS spend_limit_nano, spend_period, models, expires_at, key_rpm, key_tpm, metadata"

/** The same, of the key joined with its account as `k`, for a caller. */
export const CALLER_KEY_COLUMNS = "k.id AS key_id, CAST(k.spend_limit_nano AS TEXT) AS spend_limit_nano, k.spend_period, k.models, k.expires_at, k.key_rpm, k.key_tpm, k.metadata"

const numberOrNull = (value: Integer | null) => (value === null ? null : Number(value))

export const toAccount = (row: AccountRow): StoredAccount => ({
  id: row.id,
  name: row.name,
  tier: row.tier,
  createdAt: Number(row.created_at),
  suspendedAt: numberOrNull(row.suspended_at),
  deletedAt: numberOrNull(row.deleted_at)
})

export const toRestrictions = (row: RestrictionRow): KeyRestrictions => ({
  spendLimit: row.spend_limit_nano === null ? null : BigInt(row.spend_limit_nano),
  spendPeriod: row.spend_period as SpendPeriod | null,
  models: row.models === null ? null : (JSON.parse(row.models) as Array<string>),
  expiresAt: numberOrNull(row.expires_at),
  rpm: row.key_rpm,
  tpm: row.key_tpm,
  metadata: row.metadata === null ? null : (JSON.parse(row.metadata) as Record<string, unknown>)
})

export const toKey = (row: KeyRow): StoredKey => ({
  id: row.id,
  account_id: row.account_id,
  name: row.name,
  prefix: row.prefix,
  created_at: Number(row.created_at),
  revoked_at: numberOrNull(row.revoked_at),
  restrictions: toRestrictions(row)
})

/** Restrictions as the values of their columns. */
export const restrictionValues = (r: KeyRestrictions) => ({
  spend_limit_nano: r.spendLimit,
  spend_period: r.spendPeriod,
  models: r.models === null ? null : JSON.stringify(r.models),
  expires_at: r.expiresAt,
  key_rpm: r.rpm,
  key_tpm: r.tpm,
  metadata: r.metadata === null ? null : JSON.stringify(r.metadata)
})

/** A key's restrictions with `changes` applied: undefined keeps a field, null clears it; other fields (a name) are ignored. */
export const applyChanges = (current: KeyRestrictions, changes: { readonly [F in keyof KeyRestrictions]?: KeyRestrictions[F] | undefined }): KeyRestrictions => {
  const next = { ...current } as Record<string, unknown>
  for (const [field, value] of Object.entries(changes)) if (value !== undefined && field in current) next[field] = value
  return next as unknown as KeyRestrictions
}
