import { globToRegExp } from "./catalog.ts"
import type { SpendPeriod } from "./context.ts"

/*
 * The rules of a key's restrictions every plugin reads the same way: which models a list
 * allows, and where a spend period starts.
 */

export const SPEND_PERIODS: ReadonlyArray<SpendPeriod> = ["day", "week", "month"]

const DAY_MS = 86_400_000

/** The UTC day of an instant, counted from 1970-01-01 (day 0, a Thursday). */
export const dayOf = (ms: number): number => Math.floor(ms / DAY_MS)

/**
 * The first UTC day of the period holding `ms`: the day itself, the Monday of its ISO week, or
 * the first of its month; day 0 for a lifetime limit (no period).
 */
export const periodStartDay = (period: SpendPeriod | null, ms: number): number => {
  const day = dayOf(ms)
  if (period === null) return 0
  if (period === "day") return day
  // 1970-01-01 was a Thursday: (day + 3) % 7 counts days since Monday.
  if (period === "week") return day - ((day + 3) % 7)
  const date = new Date(day * DAY_MS)
  return dayOf(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1))
}

const patterns = new WeakMap<ReadonlyArray<string>, ReadonlyArray<RegExp>>()

/** Whether a key's model list (ids and `*` globs; null: every model) allows `model`. */
export const modelAllowed = (models: ReadonlyArray<string> | null | undefined, model: string): boolean => {
  if (models === null || models === undefined) return true
  let compiled = patterns.get(models)
  if (compiled === undefined) patterns.set(models, (compiled = models.map(globToRegExp)))
  return compiled.some((pattern) => pattern.test(model))
}
