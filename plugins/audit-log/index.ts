import { Context, Effect, type Layer } from "effect"
import { AuditLog, AuditTrail, buildStore, type CoreServices, definePlugin, InvalidRequest, Log, type StoredAuditEntry } from "../../core/index.ts"
import { sqliteAuditLog } from "./sqlite.ts"

export { AUDIT_PG_SCHEMA } from "./schema-pg.ts"
export { postgresAuditLog } from "./postgres.ts"
export { sqliteAuditLog } from "./sqlite.ts"

export interface AuditLogOptions {
  /** Where the log is kept: an AuditLog port implementation; the relay's SQLite store unless given. */
  readonly store?: Layer.Layer<AuditLog, never, CoreServices>
}

const DEFAULT_PAGE = 50
const MAX_PAGE = 500

/** An entry as `GET /admin/audit` shows it. */
const view = (entry: StoredAuditEntry) => ({
  id: entry.id,
  at: new Date(entry.at).toISOString(),
  actor: entry.actor.kind === "key" ? { kind: "key", account_id: entry.actor.accountId, key_id: entry.actor.keyId } : { kind: entry.actor.kind },
  action: entry.action,
  account_id: entry.accountId,
  target: entry.target,
  details: entry.details,
  request_id: entry.requestId
})

/**
 * The audit log: every state change made through the admin API, the account API, the console
 * and the command line (accounts, keys and their limits, credits, tiers, BYOK credentials,
 * vault rotation, suspension, deletion), with who, when, what and the request id, never a
 * secret. Read it at `GET /admin/audit?account_id=&limit=&before=`, newest first.
 */
export const auditLog = (options: AuditLogOptions = {}) =>
  definePlugin("audit-log", () =>
    Effect.gen(function*() {
      const store = yield* buildStore(options.store ?? sqliteAuditLog, Context.get(AuditLog))
      const log = yield* Log
      return {
        services: Context.make(AuditTrail, {
          // A change already made is not undone by a log that cannot take its record: the
          // failure is logged (without the details) for the operator.
          record: (entry) =>
            Effect.catchCause(store.record(entry), (cause) =>
              Effect.sync(() => log.error({ action: entry.action, request_id: entry.requestId, error: String(cause).split("\n")[0]!.slice(0, 200) }, "an audit entry could not be written"))),
          list: (query) => store.list(query)
        }),
        routes: (app, kit) => {
          app.get("/admin/audit", async (c) => {
            const limitText = c.req.query("limit")
            const beforeText = c.req.query("before")
            const limit = limitText === undefined ? DEFAULT_PAGE : Number(limitText)
            const before = beforeText === undefined ? undefined : Number(beforeText)
            if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
              return kit.errorResponse(c, new InvalidRequest({ message: `limit: expected a whole number from 1 to ${MAX_PAGE}`, param: "limit" }))
            }
            if (before !== undefined && (!Number.isInteger(before) || before < 1)) {
              return kit.errorResponse(c, new InvalidRequest({ message: "before: expected the id of an entry (the next_before of a page)", param: "before" }))
            }
            const entries = await Effect.runPromise(store.list({ accountId: c.req.query("account_id"), before, limit }))
            return c.json({ data: entries.map(view), next_before: entries.length === limit ? entries.at(-1)!.id : null })
          })
        }
      }
    }))
