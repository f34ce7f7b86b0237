import { Context, type Effect } from "effect"

/** Who changed state: the operator through the admin API or the command line, or an account's key. */
export type AuditActor =
  | { readonly kind: "admin" }
  | { readonly kind: "cli" }
  | { readonly kind: "key"; readonly accountId: string; readonly keyId: string }

/** One state change, as recorded: never a secret (see core/audit.ts for what details keep). */
export interface AuditEntry {
  /** Epoch ms. */
  readonly at: number
  readonly actor: AuditActor
  /** What was done, such as `POST /admin/accounts/{id}/credits` or `relay credits add`. */
  readonly action: string
  /** The account the change concerns, when there is one: what the log is filtered by. */
  readonly accountId: string | null
  /** The key, or other thing within the account, the change concerns. */
  readonly target: string | null
  /** The change's own fields (amounts, names, limits), secrets left out. */
  readonly details: Readonly<Record<string, unknown>> | null
  readonly requestId: string | null
}

export interface StoredAuditEntry extends AuditEntry {
  /** Increasing: a page starts before the last id of the one before. */
  readonly id: number
}

export interface AuditQuery {
  readonly accountId?: string | undefined
  /** Only entries with a smaller id (the next page). */
  readonly before?: number | undefined
  readonly limit: number
}

/** The audit log: append-only, read newest first. */
export interface AuditLogShape {
  readonly record: (entry: AuditEntry) => Effect.Effect<void>
  readonly list: (query: AuditQuery) => Effect.Effect<ReadonlyArray<StoredAuditEntry>>
}

export class AuditLog extends Context.Service<AuditLog, AuditLogShape>()("relay/AuditLog") {}
