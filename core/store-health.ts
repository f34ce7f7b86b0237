import { Context } from "effect"

/** The refusal of a lock held elsewhere: often a moment's (a store command writing). */
export const STORE_LOCKED = "the store is locked by another process"

/**
 * Why SQLite refused a write, in words for an operator, or undefined when the error is not the
 * store refusing (a bug, a constraint). Every driver passes SQLite's own message through.
 */
export const storeRefusal = (error: unknown): string | undefined => {
  const message = error instanceof Error ? error.message : String(error)
  if (/disk is full|SQLITE_FULL/i.test(message)) return "the disk is full"
  if (/readonly database|read-only|SQLITE_READONLY/i.test(message)) return "the store is read-only"
  if (/database (?:table )?is locked|database is busy|SQLITE_BUSY|SQLITE_LOCKED/i.test(message)) return STORE_LOCKED
  // A networked store's own refusal (core/pg-client.ts), already in words.
  if (/^the shared store cannot be reached/.test(message)) return message
  if (/disk I\/O error|SQLITE_IOERR|unable to open database|SQLITE_CANTOPEN/i.test(message)) return "the store cannot be written (I/O error)"
  return undefined
}

/**
 * Whether the store takes writes, as its writers last found it. Admission, `/healthz` and
 * `/metrics` read it: while the store refuses writes the relay serves nothing it would have to
 * charge (fail closed), and says why.
 */
export class StoreHealthState {
  private refusal: string | undefined
  /** Write attempts the store refused, since start. */
  refusedWrites = 0
  /** Charges (with their usage records) held in memory until the store takes them. */
  keptCharges = 0
  private readonly listeners: Array<() => void> = []

  get writable(): boolean {
    return this.refusal === undefined
  }

  /** Why the store refuses writes, while it does. */
  get reason(): string | undefined {
    return this.refusal
  }

  /** An attempt at writing was refused (a lock may still pass before it counts as `refused`). */
  attemptRefused(): void {
    this.refusedWrites++
    this.changed()
  }

  /** The store refuses writes; true when it had taken them until now. */
  refused(reason: string): boolean {
    const changed = this.refusal === undefined
    this.refusal = reason
    this.changed()
    return changed
  }

  /** A write went through; true when the store had refused writes until now. */
  recovered(): boolean {
    if (this.refusal === undefined) return false
    this.refusal = undefined
    this.changed()
    return true
  }

  setKept(count: number): void {
    if (count === this.keptCharges) return
    this.keptCharges = count
    this.changed()
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener)
  }

  private changed() {
    for (const listener of this.listeners) listener()
  }
}

export class StoreHealth extends Context.Service<StoreHealth, StoreHealthState>()("relay/StoreHealth") {}
