import type { ChunkReader } from "./chunk-reader.ts"

/** The upstream of a stream sent nothing for longer than its provider allows. */
export class StreamIdle extends Error {
  override readonly name = "StreamIdle"
}

/**
 * `reader`, failing a read once the upstream has sent nothing for `idleMs`: the upstream is
 * cancelled (its request aborted, its sockets freed) and the stream's own failure path tells
 * the client in its protocol and settles what was delivered. One timer per stream, re-armed
 * only when it fires, and a clock read per chunk: nothing else on the chunk path.
 */
export const idleLimited = (reader: ChunkReader, idleMs: number): ChunkReader => {
  let last = Date.now()
  let failed: StreamIdle | undefined
  let fail: ((error: StreamIdle) => void) | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  const check = () => {
    const quiet = Date.now() - last
    if (quiet < idleMs) {
      timer = setTimeout(check, idleMs - quiet)
      return
    }
    timer = undefined
    failed = new StreamIdle(`the upstream sent nothing for ${Math.round(idleMs / 1000)} s`)
    fail?.(failed)
    reader.cancel(failed)
  }
  timer = setTimeout(check, idleMs)
  const stop = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }
  return {
    read() {
      if (failed !== undefined) return Promise.reject(failed)
      return new Promise((resolve, reject) => {
        fail = reject
        reader.read().then(
          (chunk) => {
            fail = undefined
            last = Date.now()
            if (chunk === undefined) stop()
            resolve(chunk)
          },
          (error: unknown) => {
            fail = undefined
            stop()
            reject(error)
          }
        )
      })
    },
    cancel(reason) {
      stop()
      reader.cancel(reason)
    }
  }
}
