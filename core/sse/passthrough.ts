import { type ChunkReader, concatChunks } from "../chunk-reader.ts"
import type { RelayError } from "../errors.ts"
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
  /**
   * The stream's terminal event (`[DONE]`, `message_stop`...) has passed: it is whole. Without
   * it the inspector knows no terminal event, and the upstream's close completes the stream.
   */
  readonly finished?: boolean
}

export type StreamEnd =
  | { readonly kind: "complete" }
  | { readonly kind: "aborted" }
  | { readonly kind: "failed"; readonly error: unknown }

export interface PassthroughHooks {
  /** The first bytes are about to reach the client. */
  readonly firstByte: () => void
  /**
   * Called exactly once: the stream completed, the client went away, or the upstream failed.
   * Resolves once the request is on record, with the error that kept it off: the stream's last
   * bytes wait for it, and give way to `failureEvent` on an error.
   */
  readonly end: (end: StreamEnd) => Promise<RelayError | undefined>
  /** Sent to the client when the upstream fails mid-stream, so its SDK raises an error. */
  readonly failureEvent: Uint8Array
}

/** What a relay stream makes of the upstream's bytes: the same bytes (passthrough) or a translation. */
export interface StreamPump {
  /** The client's bytes for one upstream chunk, or undefined when none are due yet (read on). */
  chunk(value: Uint8Array): Uint8Array | undefined
  /** The upstream closed: the client's last bytes, and how the stream ended. */
  done(): { readonly bytes: Uint8Array | undefined; readonly end: StreamEnd }
  /**
   * The client's terminal event is in the bytes of the last `chunk`: the stream is whole from
   * the client's view, whether or not the upstream has closed yet.
   */
  readonly finished: boolean
  /**
   * Once `finished`: where in the last `chunk`'s bytes the terminal event begins. The bytes
   * before it go to the client at once; only the rest waits for the settle. Without it the
   * whole chunk waits.
   */
  readonly terminalAt?: number
}

/**
 * The streaming core every relayed stream is built on. Pull-based and unbuffered: the relay
 * reads from the upstream only when the client has taken the previous chunk, so backpressure
 * is end to end. Cancelling the returned reader (client disconnect) cancels the upstream body,
 * which aborts the upstream request. `hooks.end` is called exactly once.
 */
export const relayStream = (upstream: ChunkReader, pump: StreamPump, hooks: PassthroughHooks): ChunkReader => {
  let ended = false
  let closed = false
  let started = false
  const end = (outcome: StreamEnd): Promise<RelayError | undefined> => {
    if (ended) return Promise.resolve(undefined)
    ended = true
    return hooks.end(outcome)
  }
  const send = (bytes: Uint8Array) => {
    if (!started) {
      started = true
      hooks.firstByte()
    }
    return bytes
  }
  let cancelled = false
  /**
   * The terminal event's bytes, kept back by a read that sent what preceded them: the stream
   * is whole, and the next read settles it while those bytes are on their way to the client.
   */
  let held: Uint8Array | undefined
  /** Refused a record, the client gets the failure event in place of the stream's end. */
  const refuse = (reason: unknown) => {
    closed = true
    upstream.cancel(reason)
    return send(hooks.failureEvent)
  }

  // The bytes that make the stream whole leave only once its charge is on record: a relay that
  // dies meanwhile leaves the client a cut stream (its SDK raises), never a whole answer
  // unbilled.
  return {
    async read() {
      if (closed) return undefined
      try {
        if (held !== undefined) {
          const terminal = held
          held = undefined
          const unrecorded = await end({ kind: "complete" })
          if (cancelled) return undefined
          if (unrecorded !== undefined) return refuse(unrecorded)
          if (terminal.length > 0) return send(terminal)
        }
        for (;;) {
          const value = await upstream.read()
          if (closed) return undefined
          if (value === undefined) {
            closed = true
            const done = pump.done()
            if (done.bytes !== undefined && done.bytes.length > 0) send(done.bytes)
            const unrecorded = await end(done.end)
            if (cancelled) return undefined
            if (unrecorded !== undefined) return send(hooks.failureEvent)
            return done.bytes !== undefined && done.bytes.length > 0 ? send(done.bytes) : undefined
          }
          const out = pump.chunk(value)
          if (pump.finished && !ended) {
            const at = Math.min(pump.terminalAt ?? 0, out?.length ?? 0)
            // What precedes the terminal event goes now (a stream the upstream sends in one
            // chunk has its first byte at once); the terminal event on the next read, settled.
            if (at > 0) {
              held = out!.subarray(at)
              return send(out!.subarray(0, at))
            }
            if (out !== undefined) send(out)
            const unrecorded = await end({ kind: "complete" })
            if (cancelled) return undefined
            if (unrecorded !== undefined) return refuse(unrecorded)
          }
          // Whatever the upstream sends after the end is passed on until it closes.
          if (out !== undefined) return send(out)
        }
      } catch (error) {
        if (closed) return undefined
        closed = true
        const bytes = send(hooks.failureEvent)
        void end({ kind: "failed", error })
        return bytes
      }
    },
    cancel(reason) {
      closed = true
      cancelled = true
      void end({ kind: "aborted" })
      upstream.cancel(reason)
    }
  }
}

/** The upstream body reaches the client untouched while `inspector` reads it. */
export const passthrough = (upstream: ChunkReader, inspector: StreamInspector, hooks: PassthroughHooks): ChunkReader => {
  const splitter = new SseEventSplitter()
  /** The chunk being split, and where its terminal event begins once the inspector has seen it. */
  let current: Uint8Array = new Uint8Array(0)
  let terminalAt: number | undefined
  const inspect = (event: Uint8Array) => {
    inspector.event(event)
    // An event that began in an earlier chunk (a copy, not a view of this one) was partly sent
    // with that chunk: the rest of it, from this chunk's start, is what makes the stream whole.
    if (terminalAt === undefined && inspector.finished === true) {
      terminalAt = event.buffer === current.buffer ? event.byteOffset - current.byteOffset : 0
    }
  }
  return relayStream(upstream, {
    chunk(value) {
      if (!inspector.filters) {
        current = value
        splitter.push(value, inspect)
        return value
      }
      const kept: Array<Uint8Array> = []
      let whole = !splitter.carrying
      let length = 0
      splitter.push(value, (event) => {
        if (!inspector.event(event)) whole = false
        else {
          // Filtered output holds whole events only, so the terminal one starts after those kept before it.
          if (terminalAt === undefined && inspector.finished === true) terminalAt = length
          kept.push(event)
          length += event.length
        }
      })
      if (kept.length === 0) return undefined
      // Untouched chunk made of whole events: forward the very object we received.
      return whole && !splitter.carrying ? value : concatChunks(kept)
    },
    get terminalAt() {
      return terminalAt
    },
    done() {
      // A last event without its blank line: still read; unsent only when filtering.
      const rest = splitter.pending
      const keep = rest !== undefined && inspector.event(rest) && inspector.filters
      const bytes = keep ? rest : undefined
      if (inspector.finished !== false) return { bytes, end: { kind: "complete" } }
      // Closed before its terminal event: the client's SDK must raise, not take a truncated
      // answer for a whole one.
      return {
        bytes: bytes === undefined ? hooks.failureEvent : concatChunks([bytes, hooks.failureEvent]),
        end: { kind: "failed", error: new Error("the upstream stream ended before its last event") }
      }
    },
    get finished() {
      return inspector.finished === true
    }
  }, hooks)
}
