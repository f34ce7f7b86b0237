import { fstatSync, writeSync } from "node:fs"
import { Socket } from "node:net"

/** Writes what it can of `bytes` at once; 0 when the output takes nothing now (a full pipe). */
export type TryWrite = (bytes: Uint8Array) => number

/** `fd` written without waiting: a non-blocking pipe that is full takes nothing (EAGAIN). */
export const fdWriter = (fd: number): TryWrite => (bytes) => {
  try {
    return writeSync(fd, bytes)
  } catch (error) {
    if ((error as { code?: unknown }).code === "EAGAIN") return 0
    throw error
  }
}

/** An output that writes in the background: what it takes now, and when all it took is written. */
export interface BackgroundOutput {
  readonly tryWrite: TryWrite
  readonly settled: () => Promise<void>
}

/** What a stream output lets wait in its stream before it takes no more (bytes); LogOut keeps the rest. */
const STREAM_WAITING_MAX = 64 * 1024

/**
 * Stdout (`fd` 1 or 2: Deno's node:net takes no other descriptor) as a node:net stream when it
 * is a pipe or a socket, written without waiting by the event loop that serves the requests.
 * For Deno, which leaves the stdout it was given blocking: a log reader falling behind would
 * stop the event loop in write(). A pipe could be reopened non-blocking, but a socket (what a
 * test runner or journald hands over) cannot; a stream works for both, on the same thread as
 * the lines it writes. Undefined for a file or a terminal, which never keep a write waiting.
 */
export const streamWriter = (fd: number): BackgroundOutput | undefined => {
  const stat = fstatSync(fd)
  if (!stat.isFIFO() && !stat.isSocket()) return undefined
  const stream = new Socket({ fd, readable: false, writable: true })
  // Output that is gone (its reader closed it) takes lines and drops them: they have nowhere to go.
  stream.on("error", () => undefined)
  stream.unref()
  return {
    tryWrite: (bytes) => {
      if (stream.destroyed) return bytes.length
      if (stream.writableLength >= STREAM_WAITING_MAX) return 0
      stream.write(bytes)
      return bytes.length
    },
    settled: () =>
      stream.destroyed || stream.writableLength === 0
        ? Promise.resolve()
        : new Promise((resolve) => {
          stream.once("drain", resolve)
          stream.once("close", resolve)
        })
  }
}

/** How long lines wait before the output is tried again once it took nothing. */
const RETRY_MS = 20

/**
 * The relay's log output. The lines of one event-loop turn go out together in one write at the
 * end of the turn (one system call for a turn's requests, instead of one per line). When the
 * output is full (a log reader falling behind), pino's own destination sleeps 100 ms and tries
 * again, and every request waits with it; here the lines wait in memory, in order, and go out
 * on a timer once the output takes them. Past `maxWaiting` bytes waiting, further lines are
 * dropped rather than memory grown without end. A relay that stops calls `flush`; a process
 * exiting at once (the exit hook) calls `flushSync`.
 */
export class LogOut {
  private readonly waiting: Array<Uint8Array> = []
  private waitingBytes = 0
  /** A write is due: at the end of this turn, or after RETRY_MS once the output took nothing. */
  private due = false

  constructor(
    private readonly tryWrite: TryWrite,
    private readonly maxWaiting: number,
    /** Resolves once what the output took is written (an output that writes in the background). */
    private readonly settled: () => Promise<void> = async () => undefined
  ) {}

  write(line: string): boolean {
    const bytes = Buffer.from(line)
    if (this.waiting.length > 0 && this.waitingBytes + bytes.length > this.maxWaiting) return true
    this.waiting.push(bytes)
    this.waitingBytes += bytes.length
    if (!this.due) {
      this.due = true
      setImmediate(this.drain)
    }
    return true
  }

  /**
   * Writes everything waiting, retrying until the output takes it, and resolves once it is
   * written: for a relay that stops. The event loop runs meanwhile, which an output that writes
   * in the background needs to finish.
   */
  async flush(): Promise<void> {
    while (!this.writeWaiting()) await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
    await this.settled()
  }

  /**
   * Writes everything waiting, retrying until the output takes it or `maxWaitMs` has passed:
   * for a process exiting now, which has no turn of the loop left.
   */
  flushSync(maxWaitMs = Number.POSITIVE_INFINITY): void {
    const deadline = Date.now() + maxWaitMs
    while (!this.writeWaiting() && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, RETRY_MS)
  }

  /**
   * Writes the waiting lines as one block while the output takes it; false once it takes no
   * more. The rest of a block begun is kept whatever the bound: a cut line would corrupt the next.
   */
  private writeWaiting(): boolean {
    if (this.waiting.length === 0) return true
    const block = this.waiting.length === 1 ? this.waiting[0]! : Buffer.concat(this.waiting)
    const written = this.tryWrite(block)
    this.waitingBytes -= written
    this.waiting.length = 0
    if (written === block.length) return true
    this.waiting.push(block.subarray(written))
    return false
  }

  private readonly drain = () => {
    if (this.writeWaiting()) {
      this.due = false
      return
    }
    // Waiting lines do not keep a finished process alive.
    setTimeout(this.drain, RETRY_MS).unref?.()
  }
}
