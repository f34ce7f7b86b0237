import type { Caller } from "../../core/index.ts"

interface Entry {
  readonly caller: Caller
  readonly checkedAt: number
}

/**
 * Recently seen keys, by plaintext, so a hit costs neither a hash nor a query. An entry is
 * trusted for `ttlMs` and then checked against the store again, which bounds how long a key
 * revoked by another process (the CLI) keeps working; revocations in this process drop their
 * entries at once, and `onDrop` tells the other nodes (which then `clear` theirs).
 */
export class KeyCache {
  private readonly entries = new Map<string, Entry>()

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number,
    private readonly onDrop: () => void = () => undefined
  ) {}

  /** The caller if the entry is fresh; stale entries are left for the caller to revalidate. */
  fresh(key: string): Caller | undefined {
    const entry = this.entries.get(key)
    return entry !== undefined && this.now() - entry.checkedAt < this.ttlMs ? entry.caller : undefined
  }

  put(key: string, caller: Caller): void {
    this.entries.delete(key)
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
    this.entries.set(key, { caller, checkedAt: this.now() })
  }

  delete(key: string): void {
    this.entries.delete(key)
  }

  /** Drops every entry matching `test` (a revoked key, a changed account). */
  dropWhere(test: (caller: Caller) => boolean): void {
    for (const [key, entry] of this.entries) if (test(entry.caller)) this.entries.delete(key)
    this.onDrop()
  }

  /** Drops every entry: another node changed a key or an account this one may hold. */
  clear(): void {
    this.entries.clear()
  }
}
