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

/**
 * The line a journal starts with (written with its first entries, so an emptied journal stays
 * empty): the store its charges are for. A journal beside another store (a store file replaced
 * or deleted under it) is then refused at start rather than applied to accounts it never knew.
 */
export const journalHeader = (store: string): string => `${JSON.stringify({ store })}\n`

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

/** A line of the journal: an entry, the header naming its store, or neither (torn, or not the relay's). */
const decodeLine = (line: string): JournalEntry | { readonly store: string } | undefined => {
  let raw: any
  try {
    raw = JSON.parse(line)
  } catch {
    return undefined
  }
  if (typeof raw !== "object" || raw === null) return undefined
  const { seq, account, cost, charged, requestId, key, memo, store } = raw
  if (seq === undefined && typeof store === "string") return { store }
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
 * A journal's text read: its entries in sequence order, each sequence once, and the stores its
 * headers name (none in a journal written before headers were). A line that does not read whole
 * (the last one, torn by a crash mid-write, or one a failed write left) is skipped: its charge's
 * answer was never released, as its append had not returned.
 */
export const decodeJournal = (text: string): { readonly entries: Array<JournalEntry>; readonly stores: ReadonlySet<string> } => {
  const bySeq = new Map<number, JournalEntry>()
  const stores = new Set<string>()
  for (const line of text.split("\n")) {
    if (line === "") continue
    const read = decodeLine(line)
    if (read === undefined) continue
    if ("store" in read) stores.add(read.store)
    else if (!bySeq.has(read.seq)) bySeq.set(read.seq, read)
  }
  return { entries: [...bySeq.values()].sort((a, b) => a.seq - b.seq), stores }
}
