import { type ChunkReader, streamReader } from "../../core/chunk-reader.ts"
/** Small stream utilities shared by the SSE unit tests (not a test file itself). */

export const enc = new TextEncoder()
export const dec = new TextDecoder()

export const concatBytes = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/** Cuts `bytes` at the given ascending positions. */
export const cutAt = (bytes: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const out: Array<Uint8Array> = []
  let from = 0
  for (const cut of [...cuts, bytes.length]) {
    out.push(bytes.slice(from, cut))
    from = cut
  }
  return out
}

/** A deterministic PRNG (mulberry32), so random splits are reproducible. */
export const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** Random ascending cut positions in [0, length]. */
export const randomCuts = (length: number, random: () => number, maxCuts: number): Array<number> => {
  const count = Math.floor(random() * (maxCuts + 1))
  const cuts = Array.from({ length: count }, () => Math.floor(random() * (length + 1)))
  return cuts.sort((a, b) => a - b)
}

export interface Source {
  readonly stream: ReadableStream<Uint8Array>
  /** The stream as the streaming core reads it (a stream has one reader: take one or the other). */
  readonly reader: ChunkReader
  /** How many times the stream's pull() ran. */
  readonly pulls: () => number
  /** Reasons cancel() was called with. */
  readonly cancels: Array<unknown>
}

/**
 * An upstream that hands out `chunks` one per pull, then closes; `failAfter` makes the pull
 * after that many chunks error the stream instead.
 */
export const sourceOf = (
  chunks: ReadonlyArray<Uint8Array>,
  options: { readonly highWaterMark?: number; readonly failAfter?: number; readonly error?: unknown } = {}
): Source => {
  let pulls = 0
  let index = 0
  const cancels: Array<unknown> = []
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        pulls++
        if (options.failAfter !== undefined && index >= options.failAfter) {
          controller.error(options.error ?? new Error("upstream broke"))
          return
        }
        const chunk = chunks[index++]
        if (chunk === undefined) controller.close()
        else controller.enqueue(chunk)
      },
      cancel(reason) {
        cancels.push(reason)
      }
    },
    { highWaterMark: options.highWaterMark ?? 0 }
  )
  return {
    stream,
    get reader() {
      return streamReader(stream)
    },
    pulls: () => pulls,
    cancels
  }
}

/** Reads a body to its end, returning the chunk objects as received. */
export const readAll = async (reader: ChunkReader): Promise<Array<Uint8Array>> => {
  const out: Array<Uint8Array> = []
  for (let chunk = await reader.read(); chunk !== undefined; chunk = await reader.read()) out.push(chunk)
  return out
}

export const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0))

/** A reader over `chunks` that counts its reads and records its cancels. */
export const countingReader = (chunks: ReadonlyArray<string>, options: { failAt?: number } = {}) => {
  let reads = 0
  const cancels: Array<unknown> = []
  const reader: ChunkReader = {
    read: async () => {
      const index = reads++
      if (options.failAt === index) throw new Error("source broke")
      const chunk = chunks[index]
      return chunk === undefined ? undefined : enc.encode(chunk)
    },
    cancel: (reason) => void cancels.push(reason)
  }
  return { reader, reads: () => reads, cancels }
}
