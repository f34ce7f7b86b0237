import { Context, type Effect } from "effect"
import type { Usage } from "../usage.ts"

/** One request's record, written at settle with its charge. */
export interface UsageRecord {
  readonly requestId: string
  readonly accountId: string
  readonly keyId: string | undefined
  readonly createdAt: number
  readonly surface: string
  readonly model: string
  readonly provider: string | undefined
  readonly byok: boolean
  readonly status: number
  readonly usage: Usage
  /** What the request was charged, in nano-USD. */
  readonly cost: bigint
  readonly latencyMs: number
  readonly ttfbMs: number | undefined
}

/** One usage record as the account API shows it (SPEC section 5). */
export interface UsageRecordView {
  readonly id: string
  readonly created_at: string
  readonly surface: string
  readonly model: string
  readonly provider: string | null
  readonly byok: boolean
  readonly status: number
  readonly prompt_tokens: number
  readonly completion_tokens: number
  readonly cached_tokens: number
  readonly cache_write_tokens: number
  readonly image_input_tokens: number
  readonly image_output_tokens: number
  /** USD as a decimal string. */
  readonly cost: string
  readonly usage_source: string
  readonly latency_ms: number
  readonly ttfb_ms: number | null
}

/** Spend of one UTC day (`YYYY-MM-DD`), in nano-USD. */
export interface DailySpend {
  readonly day: string
  readonly cost: bigint
}

/** Spend of one UTC day by one account or one model, in nano-USD. */
export interface SpendByDay {
  readonly day: string
  /** The account's id or the model's name. */
  readonly name: string
  readonly cost: bigint
}

/**
 * The per-request usage records, read back. Records are written by the ledger's settle, in
 * the same transaction as their charge (see Ledger), so this port only reads.
 */
export interface UsageRecordsShape {
  /** The newest `limit` records of an account, newest first. */
  readonly list: (accountId: string, limit: number) => Effect.Effect<ReadonlyArray<UsageRecordView>>
  /** Spend per UTC day over the last `days` days including today, oldest first; empty days left out. */
  readonly dailySpend: (accountId: string, days: number) => Effect.Effect<ReadonlyArray<DailySpend>>
  /**
   * Every account's spend per UTC day and account, or per day and model, over the last `days`
   * days including today (the operator's view); by day, then name; empty ones left out.
   */
  readonly spendBy: (by: "account" | "model", days: number) => Effect.Effect<ReadonlyArray<SpendByDay>>
}

export class UsageRecords extends Context.Service<UsageRecords, UsageRecordsShape>()("relay/UsageRecords") {}
