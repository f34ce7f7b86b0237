import type { SqlShape } from "../core/index.ts"

/**
 * One serving relay per store. Its balances in flight (reservations, charges not yet written)
 * and its rate windows live in its memory: a second relay on the same store would admit
 * against the same money and limits twice, and the two would overdraw and double limits.
 *
 * The lock is a write transaction held open on a small SQLite file beside the store, through
 * the runtime's own driver: SQLite's file locks work alike on every runtime, and the operating
 * system lets go of them when the process ends, `kill -9` included, so a crash never leaves a
 * stale lock. The relay's store commands do not take it, so they keep working beside a relay.
 */
export const holdServeLock = (openStore: (path: string) => SqlShape, storePath: string): { readonly release: () => void } => {
  // A store in memory is this process's alone.
  if (storePath === ":memory:") return { release: () => undefined }
  const lock = openStore(`${storePath}.serve-lock`)
  lock.exec("PRAGMA busy_timeout = 0")
  try {
    lock.exec("BEGIN IMMEDIATE")
  } catch (error) {
    lock.close()
    if (error instanceof Error && /locked|busy/i.test(error.message)) {
      throw new Error(
        `another relay is serving from the store ${storePath}: one relay serves a store (for several nodes use PostgreSQL); stop the other one, or give this one its own RELAY_DATA_DIR (the relay command's store commands work beside a running relay)`
      )
    }
    throw error
  }
  return {
    release: () => {
      lock.exec("ROLLBACK")
      lock.close()
    }
  }
}
