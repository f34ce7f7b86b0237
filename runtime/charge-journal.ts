import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs"
import type { ChargeJournalShape } from "../core/index.ts"

/** A refused write in the words the store's health uses (`storeRefusal`), so both read alike. */
const refusal = (error: unknown): Error => {
  const code = (error as { code?: unknown }).code
  if (code === "ENOSPC" || code === "EDQUOT") return new Error("the charge journal cannot be written: the disk is full")
  if (code === "EROFS" || code === "EACCES" || code === "EPERM") return new Error("the charge journal cannot be written: read-only")
  return new Error(`the charge journal cannot be written (I/O error${typeof code === "string" ? `: ${code}` : ""})`)
}

/**
 * The charge journal as a file (node:fs, which Node, Bun and Deno all have), opened for
 * appending with mode 0600. No fsync: a write that returned is in the operating system's page
 * cache, as durable as the store's WAL commit under `synchronous = NORMAL`.
 */
export const openChargeJournal = (path: string): ChargeJournalShape & { readonly close: () => void } => {
  const fd = openSync(path, "a", 0o600)
  // A write that failed part way may have left a torn line: the next append starts on a line of
  // its own, so the torn one stays unreadable alone instead of spoiling the next entry.
  let torn = false
  return {
    append: (text) => {
      const bytes = Buffer.from(torn ? `\n${text}` : text)
      let written: number
      try {
        written = writeSync(fd, bytes)
      } catch (error) {
        torn = true
        throw refusal(error)
      }
      if (written !== bytes.length) {
        torn = true
        throw refusal({ code: "ENOSPC" })
      }
      torn = false
    },
    read: () => readFileSync(path, "utf8"),
    clear: () => ftruncateSync(fd, 0),
    close: () => closeSync(fd)
  }
}
