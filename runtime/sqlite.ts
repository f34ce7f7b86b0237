const BUSY_TIMEOUT_MS = 5_000

/**
 * How every runtime's SQLite driver opens the store: WAL, so readers never wait on the writer.
 * The busy timeout comes first, so that processes opening the store at once (a relay and
 * `relay` commands) wait for each other's locks rather than fail.
 */
const STORE_PRAGMAS = [`busy_timeout = ${BUSY_TIMEOUT_MS}`, "journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON"]

/** SQLite's SQLITE_BUSY, as each driver words it. */
const isBusy = (error: unknown) => error instanceof Error && /database is locked/.test(error.message)

const pause = new Int32Array(new SharedArrayBuffer(4))

/**
 * Runs the store's pragmas through the driver's `run`. Switching a new store to WAL reads its
 * header, then upgrades to the write lock; when two processes do that at once, SQLite refuses
 * the second upgrade at once, without waiting (its busy handler does not run for an upgrade,
 * which could deadlock). The switch is then tried again, as the busy timeout would have, until
 * the other process's switch is done.
 */
export const applyStorePragmas = (run: (pragma: string) => void): void => {
  for (const pragma of STORE_PRAGMAS) {
    const deadline = Date.now() + BUSY_TIMEOUT_MS
    for (;;) {
      try {
        run(pragma)
        break
      } catch (error) {
        if (!isBusy(error) || Date.now() >= deadline) throw error
        // Opening the store is synchronous in every driver, so the wait is too.
        Atomics.wait(pause, 0, 0, 5)
      }
    }
  }
}
