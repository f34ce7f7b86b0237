import { formatUsd, migrate, type SqlShape, type UsageRecord, type UsageRecordView } from "../../core/index.ts"

export type { UsageRecord } from "../../core/index.ts"

const MIGRATIONS = [
  `CREATE TABLE usage_records (
     seq INTEGER PRIMARY KEY,
     request_id TEXT NOT NULL,
     account_id TEXT NOT NULL,
     key_id TEXT,
     created_at INTEGER NOT NULL,
     surface TEXT NOT NULL,
     model TEXT NOT NULL,
     provider TEXT,
     byok INTEGER NOT NULL,
     status INTEGER NOT NULL,
     prompt_tokens INTEGER NOT NULL,
     completion_tokens INTEGER NOT NULL,
     cached_tokens INTEGER NOT NULL,
     cache_write_tokens INTEGER NOT NULL,
     image_input_tokens INTEGER NOT NULL,
     image_output_tokens INTEGER NOT NULL,
     cost_nano INTEGER NOT NULL,
     usage_source TEXT NOT NULL,
     latency_ms REAL NOT NULL,
     ttfb_ms REAL
   );
   CREATE INDEX usage_by_account ON usage_records (account_id, seq)`
]

/**
 * A stored usage record as a driver reads it back: SQLite's drivers give numbers where
 * PostgreSQL's gives BIGINT columns as bigints, so each integer may be either.
 */
export interface UsageRow {
  readonly request_id: string
  readonly created_at: number | bigint
  readonly surface: string
  readonly model: string
  readonly provider: string | null
  readonly byok: number | bigint
  readonly status: number | bigint
  readonly prompt_tokens: number | bigint
  readonly completion_tokens: number | bigint
  readonly cached_tokens: number | bigint
  readonly cache_write_tokens: number | bigint
  readonly image_input_tokens: number | bigint
  readonly image_output_tokens: number | bigint
  readonly cost_nano: number | bigint
  readonly usage_source: string
  readonly latency_ms: number
  readonly ttfb_ms: number | null
}

/** A stored usage record as the API shows it, whichever store kept it. */
export const usageView = (row: UsageRow): UsageRecordView => ({
  id: row.request_id,
  created_at: new Date(Number(row.created_at)).toISOString(),
  surface: row.surface,
  model: row.model,
  provider: row.provider,
  byok: Number(row.byok) === 1,
  status: Number(row.status),
  prompt_tokens: Number(row.prompt_tokens),
  completion_tokens: Number(row.completion_tokens),
  cached_tokens: Number(row.cached_tokens),
  cache_write_tokens: Number(row.cache_write_tokens),
  image_input_tokens: Number(row.image_input_tokens),
  image_output_tokens: Number(row.image_output_tokens),
  cost: formatUsd(BigInt(row.cost_nano)),
  usage_source: row.usage_source,
  latency_ms: row.latency_ms,
  ttfb_ms: row.ttfb_ms
})

const DAY_MS = 86_400_000

/** One record per proxied request, failures included (SPEC sections 5 and 11). */
export const makeUsageRecords = (sql: SqlShape, now: () => number = Date.now) => {
  migrate(sql, "billing.usage", MIGRATIONS)
  const insert = sql.prepare(
    `INSERT INTO usage_records (request_id, account_id, key_id, created_at, surface, model, provider, byok, status,
       prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, image_input_tokens, image_output_tokens,
       cost_nano, usage_source, latency_ms, ttfb_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
  )
  const newest = sql.prepare("SELECT * FROM usage_records WHERE account_id = ? ORDER BY seq DESC LIMIT ?", { bigints: true })
  const perDay = sql.prepare(
    `SELECT created_at / ${DAY_MS} AS day, SUM(cost_nano) AS cost FROM usage_records
     WHERE account_id = ? AND created_at >= ? GROUP BY day ORDER BY day`,
    { bigints: true }
  )

  // Column names chosen here, never from input.
  const byName = {
    account: sql.prepare(
      `SELECT created_at / ${DAY_MS} AS day, account_id AS name, SUM(cost_nano) AS cost FROM usage_records
       WHERE created_at >= ? GROUP BY day, name HAVING cost > 0 ORDER BY day, name`,
      { bigints: true }
    ),
    model: sql.prepare(
      `SELECT created_at / ${DAY_MS} AS day, model AS name, SUM(cost_nano) AS cost FROM usage_records
       WHERE created_at >= ? GROUP BY day, name HAVING cost > 0 ORDER BY day, name`,
      { bigints: true }
    )
  }

  return {
    add(record: UsageRecord): void {
      insert.run(
        record.requestId,
        record.accountId,
        record.keyId ?? null,
        record.createdAt,
        record.surface,
        record.model,
        record.provider ?? null,
        record.byok ? 1 : 0,
        record.status,
        record.usage.promptTokens,
        record.usage.completionTokens,
        record.usage.cachedTokens,
        record.usage.cacheWriteTokens,
        record.usage.imageInputTokens,
        record.usage.imageOutputTokens,
        record.cost,
        record.usage.source,
        Math.round(record.latencyMs * 1000) / 1000,
        record.ttfbMs === undefined ? null : Math.round(record.ttfbMs * 1000) / 1000
      )
    },

    /** The account's newest records as the API shows them. */
    list(accountId: string, limit: number): Array<UsageRecordView> {
      return newest.all<UsageRow>(accountId, limit).map(usageView)
    },

    /** Spend per UTC day over the last `days` days, today included, oldest first. */
    /** Every account's spend per UTC day and account or model, over the last `days` days. */
    spendBy(by: "account" | "model", days: number): Array<{ day: string; name: string; cost: bigint }> {
      const since = (Math.floor(now() / DAY_MS) - days + 1) * DAY_MS
      return byName[by].all<{ day: bigint; name: string; cost: bigint }>(since).map((row) => ({
        day: new Date(Number(row.day) * DAY_MS).toISOString().slice(0, 10),
        name: row.name,
        cost: row.cost
      }))
    },

    dailySpend(accountId: string, days: number): Array<{ day: string; cost: bigint }> {
      const since = (Math.floor(now() / DAY_MS) - days + 1) * DAY_MS
      return perDay.all<{ day: bigint; cost: bigint }>(accountId, since).map((row) => ({
        day: new Date(Number(row.day) * DAY_MS).toISOString().slice(0, 10),
        cost: row.cost
      }))
    }
  }
}

export type UsageRecords = ReturnType<typeof makeUsageRecords>
