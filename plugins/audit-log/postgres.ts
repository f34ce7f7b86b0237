import { Effect, Layer } from "effect"
import { AuditLog, clientOf, type PostgresSource, query } from "../../core/index.ts"
import { type AuditRow, rowValues, toEntry } from "./rows.ts"

/** The audit log in PostgreSQL (the table of schema-pg.ts), shared by every relay node. */
export const postgresAuditLog = (source: PostgresSource): Layer.Layer<AuditLog> =>
  Layer.effect(
    AuditLog,
    Effect.map(clientOf(source), (sql) =>
      AuditLog.of({
        record: (entry) =>
          query(async () => {
            const [at, actor, actorAccount, actorKey, action, account, target, details, requestId] = rowValues(entry)
            await sql`
              INSERT INTO audit_log (at, actor, actor_account_id, actor_key_id, action, account_id, target, details, request_id)
              VALUES (${at}::bigint, ${actor}, ${actorAccount}::text, ${actorKey}::text, ${action}, ${account}::text, ${target}::text, ${details}::text, ${requestId}::text)`
          }),
        list: ({ accountId, before, limit }) =>
          query(async () =>
            (await sql<Array<AuditRow>>`
              SELECT * FROM audit_log
              WHERE id < ${before ?? Number.MAX_SAFE_INTEGER}::bigint ${accountId === undefined ? sql`` : sql`AND account_id = ${accountId}`}
              ORDER BY id DESC LIMIT ${limit}`).map(toEntry)
          )
      }))
  )
