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

/** What a relay stream makes of the upstream's bytes: the same bytes (passthrough) or a translation. */
export interface StreamPump {
  /** The client's bytes for one upstream chunk, or undefined when none are due yet (read on). */
  chunk(value: Uint8Array): Uint8Array | undefined
  /** The upstream closed: the client's last bytes, and how the stream ended. */
  done(): { readonly bytes: Uint8Array | undefined; readonly end: StreamEnd }
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
 * The streaming core every relayed stream is built on. Pull-based with a zero high-water mark,
 * so the relay reads from the upstream only when the client has taken the previous chunk:
 * backpressure is end to end and nothing is buffered. Cancelling the returned stream (client
 * disconnect) cancels the upstream body, which aborts the upstream request. `hooks.end` is
 * called exactly once.
 */
export const relayStream = (
  upstream: ReadableStream<Uint8Array>,
  pump: StreamPump,
  hooks: PassthroughHooks
): ReadableStream<Uint8Array> => {
  const reader = upstream.getReader()
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

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          for (;;) {
            const { done, value } = await reader.read()
            if (done) {
              const last = pump.done()
              if (last.bytes !== undefined && last.bytes.length > 0) send(controller, last.bytes)
              controller.close()
              end(last.end)
              return
            }
            const out = pump.chunk(value)
            if (out === undefined) continue
            send(controller, out)
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

/** The upstream body reaches the client untouched while `inspector` reads it. */
export const passthrough = (
  upstream: ReadableStream<Uint8Array>,
  inspector: StreamInspector,
  hooks: PassthroughHooks
): ReadableStream<Uint8Array> => {
  const splitter = new SseEventSplitter()
  const inspect = (event: Uint8Array) => {
    inspector.event(event)
  }
  return relayStream(upstream, {
    chunk(value) {
      if (!inspector.filters) {
        splitter.push(value, inspect)
        return value
      }
      const kept: Array<Uint8Array> = []
      let whole = splitter.pending === undefined
      splitter.push(value, (event) => {
        if (inspector.event(event)) kept.push(event)
        else whole = false
      })
      if (kept.length === 0) return undefined
      // Untouched chunk made of whole events: forward the very object we received.
      return whole && splitter.pending === undefined ? value : concat(kept)
    },
    done() {
      // A last event without its blank line: still read; unsent only when filtering.
      const rest = splitter.pending
      const keep = rest !== undefined && inspector.event(rest) && inspector.filters
      return { bytes: keep ? rest : undefined, end: { kind: "complete" } }
    }
  }, hooks)
}
