import { SseEventSplitter } from "./events.ts"

/** Watches the events of a stream as they pass; may keep one from the client. */
export interface StreamInspector {
  /** Sees each complete event; returns false to keep it from the client. */
  event(event: Uint8Array): boolean
  /**
   * Whether `event` may return false. Only then does the relay forward whole events; otherwise
   * every upstream chunk goes out as soon as it arrives, as the very same object.
   */
  readonly filters: boolean
}

export type StreamEnd =
  | { readonly kind: "complete" }
  | { readonly kind: "aborted" }
  | { readonly kind: "failed"; readonly error: unknown }

export interface PassthroughHooks {
  /** The first bytes are about to reach the client. */
  readonly firstByte: () => void
  /** Called exactly once: the stream completed, the client went away, or the upstream failed. */
  readonly end: (end: StreamEnd) => void
  /** Sent to the client when the upstream fails mid-stream, so its SDK raises an error. */
  readonly failureEvent: Uint8Array
}

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (parts.length === 1) return parts[0]!
  let length = 0
  for (const part of parts) length += part.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

/**
 * The streaming core: the upstream body reaches the client untouched while `inspector` reads
 * it. Pull-based with a zero high-water mark, so the relay reads from the upstream only when
 * the client has taken the previous chunk: backpressure is end to end and nothing is buffered.
 * Cancelling the returned stream (client disconnect) cancels the upstream body, which aborts
 * the upstream request.
 */
export const passthrough = (
  upstream: ReadableStream<Uint8Array>,
  inspector: StreamInspector,
  hooks: PassthroughHooks
): ReadableStream<Uint8Array> => {
  const reader = upstream.getReader()
  const splitter = new SseEventSplitter()
  let ended = false
  let started = false
  const end = (outcome: StreamEnd) => {
    if (ended) return
    ended = true
    hooks.end(outcome)
  }
  const send = (controller: ReadableStreamDefaultController<Uint8Array>, bytes: Uint8Array) => {
    if (!started) {
      started = true
      hooks.firstByte()
    }
    controller.enqueue(bytes)
  }
  const inspect = (event: Uint8Array) => {
    inspector.event(event)
  }

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            const { done, value } = await reader.read()
            if (done) {
              // A last event without its blank line: still read; unsent only when filtering.
              const rest = splitter.pending
              if (rest !== undefined && inspector.event(rest) && inspector.filters) send(controller, rest)
              controller.close()
              end({ kind: "complete" })
              return
            }
            if (!inspector.filters) {
              splitter.push(value, inspect)
              send(controller, value)
              return
            }
            const kept: Array<Uint8Array> = []
            let whole = splitter.pending === undefined
            splitter.push(value, (event) => {
              if (inspector.event(event)) kept.push(event)
              else whole = false
            })
            if (kept.length === 0) continue
            // Untouched chunk made of whole events: forward the very object we received.
            send(controller, whole && splitter.pending === undefined ? value : concat(kept))
            return
          }
        } catch (error) {
          if (ended) return
          send(controller, hooks.failureEvent)
          controller.close()
          end({ kind: "failed", error })
        }
      },
      cancel(reason) {
        end({ kind: "aborted" })
        return reader.cancel(reason).catch(() => undefined)
      }
    },
    { highWaterMark: 0 }
  )
}
