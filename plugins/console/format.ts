import { formatUsd } from "../../core/index.ts"
import { displayUsd } from "../web/index.ts"

/** An account as the console shows it, read from the account view every plugin adds to. */
export interface AccountSummary {
  readonly id: string
  readonly name: string
  readonly tier: string
  /** Undefined when no plugin keeps balances. */
  readonly balance: string | undefined
  readonly rpm: number | null
  readonly tpm: number | null
}

export const summarize = (view: Record<string, unknown>): AccountSummary => {
  const limits = (view.limits ?? {}) as { rpm?: number | null; tpm?: number | null }
  return {
    id: String(view.id),
    name: String(view.name),
    tier: String(view.tier),
    balance: typeof view.balance === "string" ? displayUsd(view.balance) : undefined,
    rpm: limits.rpm ?? null,
    tpm: limits.tpm ?? null
  }
}

/** nano-USD as people read it. */
export const nanoUsd = (nano: bigint): string => displayUsd(formatUsd(nano))

/** An ISO time to the minute, in UTC, as tables show it. */
export const when = (iso: string): string => `${iso.slice(0, 16).replace("T", " ")} UTC`

export const count = (value: number | null): string => (value === null ? "—" : value.toLocaleString("en-US"))
