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

/** What `backgroundWriter` gathers while a write is out, at most (bytes). */
const GATHER_MAX = 64 * 1024

/**
 * An output whose full pipe would block the thread that writes it (Deno leaves the stdout it
 * was given blocking, where Node and Bun make theirs non-blocking), written off the event loop:
 * `write` runs on another thread of the runtime and settles with how much it wrote. Lines handed
 * over while a write is out are gathered, up to `gatherMax` bytes, into the next one; past that
 * the output takes nothing and LogOut keeps them. `settled` resolves once all taken is written.
 */
export const backgroundWriter = (write: (bytes: Uint8Array) => Promise<number>, gatherMax = GATHER_MAX) => {
  let gathered: Array<Uint8Array> = []
  let gatheredBytes = 0
  let writing: Promise<void> | undefined
  const writeGathered = async () => {
    while (gathered.length > 0) {
      const bytes = Buffer.concat(gathered)
      gathered = []
      gatheredBytes = 0
      try {
        for (let rest: Uint8Array = bytes; rest.length > 0; ) rest = rest.subarray(await write(rest))
      } catch {
        // The output is gone (its reader closed it): these lines have nowhere to go.
      }
    }
    // In the same step as the last look at `gathered`: a line handed over later starts a write.
    writing = undefined
  }
  const tryWrite: TryWrite = (bytes) => {
    const taken = bytes.subarray(0, Math.max(0, gatherMax - gatheredBytes))
    if (taken.length === 0) return 0
    gathered.push(taken)
    gatheredBytes += taken.length
    writing ??= writeGathered()
    return taken.length
  }
  return { tryWrite, settled: async () => await writing }
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
    private readonly maxWaiting: number,
    /** Resolves once what the output took is written (an output that writes in the background). */
    private readonly settled: () => Promise<void> = async () => undefined
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

  /**
   * Writes everything waiting, retrying until the output takes it, and resolves once it is
   * written: for a process about to exit. The event loop runs meanwhile, which an output that
   * writes in the background needs to finish.
   */
  async flush(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    while (!this.writeWaiting()) await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
    await this.settled()
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
