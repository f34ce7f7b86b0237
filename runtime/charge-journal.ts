import { ftruncateSync, openSync, readFileSync, statSync, writeSync } from "node:fs"
import type { ChargeJournalShape } from "../core/index.ts"

/** A refused write in the words the store's health uses (`storeRefusal`), so both read alike. */
const refusal = (error: unknown): Error => {
  const code = (error as { code?: unknown }).code
  if (code === "ENOSPC" || code === "EDQUOT") return new Error("the charge journal cannot be written: the disk is full")
  if (code === "EROFS" || code === "EACCES" || code === "EPERM") return new Error("the charge journal cannot be written: read-only")
  return new Error(`the charge journal cannot be written (I/O error${typeof code === "string" ? `: ${code}` : ""})`)
}

const utf8 = new TextEncoder()

/** Where a store's charge journal lives: beside it, in the data directory. */
export const chargeJournalPath = (storePath: string): string => `${storePath}.charges`

/** Whether the journal beside a store may hold charges the store lacks (the relay that wrote it did not stop cleanly). */
export const chargeJournalHolds = (storePath: string): boolean => {
  try {
    return statSync(chargeJournalPath(storePath)).size > 0
  } catch {
    return false
  }
}

/**
 * The charge journal as a file (node:fs, which Node, Bun and Deno all have), opened for
 * appending with mode 0600. No fsync: a write that returned is in the operating system's page
 * cache, as durable as the store's WAL commit under `synchronous = NORMAL`.
 */
export const openChargeJournal = (path: string): ChargeJournalShape => {
  const fd = openSync(path, "a", 0o600)
  return {
    append: (text) => {
      const bytes = utf8.encode(text)
      let written: number
      try {
        written = writeSync(fd, bytes)
      } catch (error) {
        throw refusal(error)
      }
      // Short only when the disk filled part way; the caller starts its next append on a new line.
      if (written !== bytes.length) throw refusal({ code: "ENOSPC" })
    },
    read: () => readFileSync(path, "utf8"),
    clear: () => ftruncateSync(fd, 0)
  }
}
