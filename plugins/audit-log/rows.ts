import type { AuditActor, AuditEntry, StoredAuditEntry } from "../../core/index.ts"

/** An audit_log row as both stores read it (SQLite in sqlite.ts, PostgreSQL in postgres.ts). */
export interface AuditRow {
  readonly id: number | bigint | string
  readonly at: number | bigint | string
  readonly actor: AuditActor["kind"]
  readonly actor_account_id: string | null
  readonly actor_key_id: string | null
  readonly action: string
  readonly account_id: string | null
  readonly target: string | null
  /** JSON object. */
  readonly details: string | null
  readonly request_id: string | null
}

export const toEntry = (row: AuditRow): StoredAuditEntry => ({
  id: Number(row.id),
  at: Number(row.at),
  actor: row.actor === "key" ? { kind: "key", accountId: row.actor_account_id!, keyId: row.actor_key_id! } : { kind: row.actor },
  action: row.action,
  accountId: row.account_id,
  target: row.target,
  details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>),
  requestId: row.request_id
})

/** An entry's column values, in the order both stores insert them. */
export const rowValues = (entry: AuditEntry) => [
  entry.at,
  entry.actor.kind,
  entry.actor.kind === "key" ? entry.actor.accountId : null,
  entry.actor.kind === "key" ? entry.actor.keyId : null,
  entry.action,
  entry.accountId,
  entry.target,
  entry.details === null ? null : JSON.stringify(entry.details),
  entry.requestId
] as const

export const COLUMNS = "at, actor, actor_account_id, actor_key_id, action, account_id, target, details, request_id"
