import { Worker } from "node:worker_threads"
import type { SqlShape } from "../core/index.ts"

/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside the commit that
 * takes the write-ahead log past 1,000 pages: that commit copies the log into the store and
 * syncs both files to disk, on the thread that commits. On a relay that thread is the event
 * loop and the commit is a request's settle, so about one request in 135 waited for two disk
 * syncs (a commit's p99.9 was 3 to 4 times its p99). Here the relay's own connection never
 * checkpoints; a worker thread with its own connection to the store runs a passive checkpoint
 * (it waits for no reader and no writer) every `intervalMs`, so the copying and syncing happen
 * beside the event loop.
 *
 * Should the worker stop (it failed, or stopped answering), the relay's connection gets SQLite's
 * automatic checkpoint back, so the log can never grow without bound.
 */

/**
 * How a runtime's SQLite driver is opened inside the worker: the body of a CommonJS function
 * `open(path, data)` that returns `{ checkpoint(): { log, checkpointed }, close() }`, where
 * `checkpoint` runs `PRAGMA wal_checkpoint(PASSIVE)`. It is source text because a worker gets
 * its code as text on every runtime (an evaluated worker also needs no file of its own inside
 * the single executable); `data` is passed along to it (a module path to require, say).
 */
export interface CheckpointDriver {
  readonly open: string
  readonly data?: unknown
}

export interface CheckpointOptions {
  /** How often the worker checkpoints. */
  readonly intervalMs?: number
  /** How long without a checkpoint done the worker is taken for stopped. */
  readonly staleMs?: number
  /** Told once, when the relay's connection takes its checkpoints back. */
  readonly onFallback: (reason: string) => void
}

export interface Checkpoints {
  /** Ends the worker (it closes its connection); the relay's connection checkpoints on its own again, for what it still writes. */
  readonly stop: () => void
}

/** SQLite's own default for `wal_autocheckpoint` (pages), restored when the worker stops. */
const SQLITE_AUTOCHECKPOINT = 1_000

/** At 1 s the log holds at most a second of writes; a passive checkpoint with nothing to copy costs microseconds. */
const INTERVAL_MS = 1_000

/** Generous: a loaded machine can leave the worker, or the event loop reading its reports, waiting for seconds. */
const STALE_MS = 60_000

/** The worker: checkpoints on a timer and reports each one; a failed checkpoint (a lock, say) is reported and tried again. */
const workerSource = (open: string) => `"use strict"
const { parentPort, workerData } = require("node:worker_threads")
const open = (path, data) => { ${open} }
const store = open(workerData.path, workerData.data)
const timer = setInterval(() => {
  try {
    const { log, checkpointed } = store.checkpoint()
    parentPort.postMessage({ log: Number(log), checkpointed: Number(checkpointed) })
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message || error) })
  }
}, workerData.intervalMs)
parentPort.on("message", () => {
  clearInterval(timer)
  store.close()
  parentPort.close()
})
`

/**
 * Moves the checkpoints of the store at `path`, open on `sql`, to a worker thread opened with
 * `driver` (see the module's comment).
 */
export const checkpointOffLoop = (sql: SqlShape, path: string, driver: CheckpointDriver, options: CheckpointOptions): Checkpoints => {
  const intervalMs = options.intervalMs ?? INTERVAL_MS
  const staleMs = options.staleMs ?? STALE_MS
  sql.exec("PRAGMA wal_autocheckpoint = 0")
  let lastCheckpoint = Date.now()
  let lastError = ""
  let done = false
  const worker = new Worker(workerSource(driver.open), { eval: true, workerData: { path, intervalMs, data: driver.data } })
  // The worker never keeps a stopping process alive.
  worker.unref()
  const takeBack = () => {
    done = true
    clearInterval(watch)
    sql.exec(`PRAGMA wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT}`)
  }
  const fallBack = (reason: string) => {
    if (done) return
    takeBack()
    options.onFallback(reason)
    void worker.terminate()
  }
  const watch = setInterval(() => {
    if (Date.now() - lastCheckpoint > staleMs) fallBack(`no checkpoint for ${Math.round((Date.now() - lastCheckpoint) / 1000)} s${lastError}`)
  }, Math.min(staleMs, 5_000))
  watch.unref?.()
  worker.on("message", (report: { readonly error?: string }) => {
    // A checkpoint that keeps failing leaves the log growing as surely as a stopped worker.
    if (report.error === undefined) lastCheckpoint = Date.now()
    else lastError = ` (the last one failed: ${report.error})`
  })
  worker.on("error", (error) => fallBack(`the checkpoint worker failed: ${error instanceof Error ? error.message : String(error)}`))
  worker.on("exit", (code) => fallBack(`the checkpoint worker ended (exit code ${code})`))
  return {
    stop: () => {
      if (done) return
      takeBack()
      worker.postMessage("stop")
    }
  }
}
