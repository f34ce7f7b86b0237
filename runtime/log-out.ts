import { constants, fstatSync, openSync, writeSync } from "node:fs"

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

/**
 * `fd` as a descriptor whose writes never wait. Node and Bun make a stdout pipe non-blocking
 * themselves; Deno leaves it blocking, so a log reader falling behind (thousands of streams
 * ending at once each write a line) would stop the event loop in write() for as long as it
 * lags. Reopening the pipe through Linux's /proc gives a descriptor of its own, non-blocking.
 * What is no pipe (a file, a terminal), or a system without /proc, keeps `fd`.
 */
export const withoutWaiting = (fd: number): number => {
  try {
    return fstatSync(fd).isFIFO() ? openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK) : fd
  } catch {
    return fd
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
    private readonly maxWaiting: number
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
   * written: for a relay that stops.
   */
  async flush(): Promise<void> {
    while (!this.writeWaiting()) await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
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
