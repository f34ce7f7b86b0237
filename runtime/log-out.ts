import { writeSync } from "node:fs"

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

/** How long lines wait before the output is tried again once it took nothing. */
const RETRY_MS = 20

/**
 * The relay's log output. Each line is written at once, as pino's synchronous destination
 * writes it, except when the output is full (a log reader falling behind): pino's destination
 * then sleeps 100 ms and tries again, and every request waits with it; here the lines wait in
 * memory, in order, and go out on a timer once the output takes them. Past `maxWaiting` bytes
 * further lines are dropped rather than memory grown without end.
 */
export class LogOut {
  private readonly waiting: Array<Uint8Array> = []
  private waitingBytes = 0
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor(
    private readonly tryWrite: TryWrite,
    private readonly maxWaiting: number
  ) {}

  write(line: string): boolean {
    const bytes = Buffer.from(line)
    if (this.waiting.length > 0) {
      if (this.waitingBytes + bytes.length <= this.maxWaiting) this.wait(bytes)
      return true
    }
    const written = this.tryWrite(bytes)
    // The rest of a line begun is kept whatever the bound: a cut line would corrupt the next.
    if (written < bytes.length) this.wait(bytes.subarray(written))
    return true
  }

  /** Writes everything waiting, retrying until the output takes it: for a process about to exit. */
  flushSync(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    while (this.waiting.length > 0) {
      if (!this.writeWaiting()) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, RETRY_MS)
    }
  }

  private wait(bytes: Uint8Array) {
    this.waiting.push(bytes)
    this.waitingBytes += bytes.length
    if (this.timer === undefined) {
      this.timer = setTimeout(this.drain, RETRY_MS)
      // Waiting lines do not keep a finished process alive.
      this.timer.unref?.()
    }
  }

  /** Writes waiting lines while the output takes them; false once it takes no more. */
  private writeWaiting(): boolean {
    while (this.waiting.length > 0) {
      const head = this.waiting[0]!
      const written = this.tryWrite(head)
      this.waitingBytes -= written
      if (written < head.length) {
        this.waiting[0] = head.subarray(written)
        return false
      }
      this.waiting.shift()
    }
    return true
  }

  private readonly drain = () => {
    this.timer = undefined
    if (!this.writeWaiting()) {
      this.timer = setTimeout(this.drain, RETRY_MS)
      this.timer.unref?.()
    }
  }
}
