import { migrate, type SqlShape } from "../../core/index.ts"

const MIGRATIONS = [
  `CREATE TABLE stored_responses (
     id TEXT PRIMARY KEY,
     account_id TEXT NOT NULL,
     provider TEXT,
     byok INTEGER NOT NULL,
     response TEXT,
     input TEXT,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   )`,
  "CREATE INDEX stored_responses_expiry ON stored_responses (expires_at)"
]

/**
 * One response an account may continue, read or delete. `provider` is set for a response its
 * provider keeps itself (OpenAI): the relay then knows only whose it is. Otherwise the relay
 * keeps the response object and every input item it answered.
 */
export interface StoredResponse {
  readonly id: string
  readonly provider: string | null
  readonly byok: boolean
  readonly response: Record<string, unknown> | undefined
  readonly input: ReadonlyArray<unknown>
}

interface Row {
  readonly id: string
  readonly provider: string | null
  readonly byok: number
  readonly response: string | null
  readonly input: string | null
}

/** Expired rows are deleted at most this often, by the write that finds them due. */
const PURGE_EVERY_MS = 60_000

/** Stored responses by account, each kept for `retentionMs` after it was written. */
export const makeResponseStore = (sql: SqlShape, retentionMs: number, now: () => number = Date.now) => {
  migrate(sql, "responses", MIGRATIONS)
  const insert = sql.prepare(
    `INSERT INTO stored_responses (id, account_id, provider, byok, response, input, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO NOTHING`
  )
  const one = sql.prepare("SELECT id, provider, byok, response, input FROM stored_responses WHERE id = ? AND account_id = ? AND expires_at > ?")
  const remove = sql.prepare("DELETE FROM stored_responses WHERE id = ? AND account_id = ?")
  const purge = sql.prepare("DELETE FROM stored_responses WHERE expires_at <= ?")
  let purgedAt = 0

  return {
    put(
      account: string,
      entry: { readonly id: string; readonly provider: string | null; readonly byok: boolean; readonly response?: unknown; readonly input?: unknown }
    ): void {
      const at = now()
      if (at - purgedAt >= PURGE_EVERY_MS) {
        purgedAt = at
        purge.run(at)
      }
      insert.run(
        entry.id,
        account,
        entry.provider,
        entry.byok ? 1 : 0,
        entry.response === undefined ? null : JSON.stringify(entry.response),
        entry.input === undefined ? null : JSON.stringify(entry.input),
        at,
        at + retentionMs
      )
    },
    /** The account's response by id; another account's, or an expired one, is not found. */
    get(account: string, id: string): StoredResponse | undefined {
      const row = one.get<Row>(id, account, now())
      if (row === undefined) return undefined
      return {
        id: row.id,
        provider: row.provider,
        byok: row.byok === 1,
        response: row.response === null ? undefined : JSON.parse(row.response),
        input: row.input === null ? [] : JSON.parse(row.input)
      }
    },
    /** True when the account had such a response. */
    delete(account: string, id: string): boolean {
      return remove.run(id, account).changes > 0
    }
  }
}

export type ResponseStore = ReturnType<typeof makeResponseStore>
