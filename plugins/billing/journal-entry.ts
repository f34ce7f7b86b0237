import type { KeyCharge } from "../../core/index.ts"

/**
 * One charge as a line of the charge journal: what its write into the store needs, and a
 * sequence number that makes replaying it exactly-once (the store keeps the highest one written,
 * in the same transaction as the charges). Amounts are decimal strings: JSON has no 64-bit
 * integers.
 */
export interface JournalEntry {
  readonly seq: number
  readonly account: string
  readonly cost: bigint
  readonly charged: bigint
  readonly requestId: string
  readonly key: KeyCharge | undefined
  /** What the usage record is written from (see the ledger's `replay`). */
  readonly memo: unknown
}

export const encodeEntry = (entry: JournalEntry): string =>
  `${JSON.stringify({
    seq: entry.seq,
    account: entry.account,
    cost: String(entry.cost),
    charged: String(entry.charged),
    requestId: entry.requestId,
    key: entry.key === undefined ? null : {
      id: entry.key.id,
      day: entry.key.day,
      limit: entry.key.limit === undefined ? null : { amount: String(entry.key.limit.amount), since: entry.key.limit.since }
    },
    memo: entry.memo
  })}\n`

const INTEGER = /^-?\d+$/

const decodeLine = (line: string): JournalEntry | undefined => {
  let raw: any
  try {
    raw = JSON.parse(line)
  } catch {
    return undefined
  }
  if (typeof raw !== "object" || raw === null) return undefined
  const { seq, account, cost, charged, requestId, key, memo } = raw
  if (!Number.isSafeInteger(seq) || seq <= 0 || typeof account !== "string" || typeof requestId !== "string") return undefined
  if (typeof cost !== "string" || !INTEGER.test(cost) || typeof charged !== "string" || !INTEGER.test(charged)) return undefined
  let keyCharge: KeyCharge | undefined
  if (key !== null && key !== undefined) {
    if (typeof key.id !== "string" || !Number.isSafeInteger(key.day)) return undefined
    const limit = key.limit
    if (limit !== null && (typeof limit?.amount !== "string" || !INTEGER.test(limit.amount) || !Number.isSafeInteger(limit.since))) return undefined
    keyCharge = { id: key.id, day: key.day, limit: limit === null ? undefined : { amount: BigInt(limit.amount), since: limit.since } }
  }
  return { seq, account, cost: BigInt(cost), charged: BigInt(charged), requestId, key: keyCharge, memo }
}

/**
 * The entries of a journal's text, in sequence order, each sequence once. A line that does not
 * read whole (the last one, torn by a crash mid-write, or one a failed write left) is skipped:
 * its charge's answer was never released, as its append had not returned.
 */
export const decodeJournal = (text: string): Array<JournalEntry> => {
  const bySeq = new Map<number, JournalEntry>()
  for (const line of text.split("\n")) {
    if (line === "") continue
    const entry = decodeLine(line)
    if (entry !== undefined && !bySeq.has(entry.seq)) bySeq.set(entry.seq, entry)
  }
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq)
}
