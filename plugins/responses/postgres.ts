import { Effect, Layer } from "effect"
import { clientOf, type PostgresSource, query, StoredResponses } from "../../core/index.ts"
import { PURGE_EVERY_MS, responseOf, type ResponseRow } from "./store.ts"

/**
 * Stored responses in PostgreSQL (the table of schema-pg.ts, migrated at start), shared by
 * every relay node, so `previous_response_id` continues a response whichever node answered
 * it. One round trip per call.
 */
export const postgresResponses = (source: PostgresSource): Layer.Layer<StoredResponses> =>
  Layer.effect(
    StoredResponses,
    Effect.map(clientOf(source), (sql) => {
      let purgedAt = 0
      return StoredResponses.of({
        put: (account, entry, now, expiresAt) =>
          query(async () => {
            if (now - purgedAt >= PURGE_EVERY_MS) {
              purgedAt = now
              await sql`DELETE FROM stored_responses WHERE expires_at <= ${now}`
            }
            await sql`
              INSERT INTO stored_responses (id, account_id, provider, byok, response, input, created_at, expires_at)
              VALUES (${entry.id}, ${account}, ${entry.provider}, ${entry.byok ? 1 : 0},
                      ${entry.response === undefined ? null : JSON.stringify(entry.response)},
                      ${entry.input === undefined ? null : JSON.stringify(entry.input)}, ${now}, ${expiresAt})
              ON CONFLICT (id) DO NOTHING`
          }),
        get: (account, id, now) =>
          query(async () => {
            const [row] = await sql<Array<ResponseRow>>`
              SELECT id, provider, byok, response, input FROM stored_responses WHERE id = ${id} AND account_id = ${account} AND expires_at > ${now}`
            return row === undefined ? undefined : responseOf(row)
          }),
        remove: (account, id) => query(async () => (await sql`DELETE FROM stored_responses WHERE id = ${id} AND account_id = ${account}`).count > 0)
      })
    })
  )
