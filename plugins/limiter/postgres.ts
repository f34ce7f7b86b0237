import { Effect, Layer } from "effect"
import { AccountLimits, clientOf, type LimitOverrides, NO_OVERRIDES, type PostgresSource, query } from "../../core/index.ts"

/**
 * Per-account overrides in PostgreSQL (the table of schema-pg.ts), shared by every relay node.
 * A read is one indexed lookup; a change is one statement, so two nodes changing different
 * fields of one account at once both land.
 */
export const postgresAccountLimits = (source: PostgresSource): Layer.Layer<AccountLimits> =>
  Layer.effect(
    AccountLimits,
    Effect.map(clientOf(source), (sql) =>
      AccountLimits.of({
        get: (accountId) =>
          query(async () => {
            const [row] = await sql<Array<LimitOverrides>>`SELECT rpm, tpm FROM limiter_overrides WHERE account_id = ${accountId}`
            return row === undefined ? NO_OVERRIDES : { rpm: row.rpm, tpm: row.tpm }
          }),
        set: (accountId, changes) =>
          query(async () => {
            // A field left undefined keeps its value; null clears it.
            const keepRpm = changes.rpm === undefined
            const keepTpm = changes.tpm === undefined
            const [row] = await sql<Array<LimitOverrides>>`
              INSERT INTO limiter_overrides (account_id, rpm, tpm)
              VALUES (${accountId}, ${changes.rpm ?? null}::integer, ${changes.tpm ?? null}::integer)
              ON CONFLICT (account_id) DO UPDATE SET
                rpm = CASE WHEN ${keepRpm} THEN limiter_overrides.rpm ELSE excluded.rpm END,
                tpm = CASE WHEN ${keepTpm} THEN limiter_overrides.tpm ELSE excluded.tpm END
              RETURNING rpm, tpm`
            return { rpm: row!.rpm, tpm: row!.tpm }
          })
      }))
  )
