import type { ChunkReader } from "../chunk-reader.ts"
import { SseEventSplitter } from "./events.ts"
import { type PassthroughHooks, relayStream } from "./passthrough.ts"

/** How a translated stream's upstream ended, as its translator saw it. */
export type TranslationEnd =
  /** The upstream's terminal event arrived; `text` closes the client's stream. */
  | { readonly kind: "complete"; readonly text: string }
  /** The upstream sent an error event, already translated and sent to the client. */
  | { readonly kind: "upstream-error" }
  /** The upstream closed before its terminal event. */
  | { readonly kind: "cut" }

/** Turns one protocol's stream events into another's, one complete event at a time. */
export interface StreamTranslator {
  /** The client's text for one complete upstream event ("" when nothing is due). */
  event(event: Uint8Array): string
  /** The upstream closed. */
  end(): TranslationEnd
  /** The client's terminal event has been given out (by `event`): the stream is whole. */
  readonly finished: boolean
}

const encoder = new TextEncoder()

/**
 * The upstream body translated event by event into the client's protocol, on the same
 * streaming core as passthrough (backpressure, cancel, one end). A stream the upstream cut
 * before its terminal event ends with `hooks.failureEvent`, so the client's SDK raises an
 * error instead of taking a truncated answer for a whole one.
 */
export const translateStream = (upstream: ChunkReader, translator: StreamTranslator, hooks: PassthroughHooks): ChunkReader => {
  const splitter = new SseEventSplitter()
  /** Where the text of the event that finished the stream begins, in its chunk's bytes. */
  let terminalAt: number | undefined
  return relayStream(upstream, {
    chunk(value) {
      let out = ""
      splitter.push(value, (event) => {
        const before = out
        out += translator.event(event)
        if (terminalAt === undefined && translator.finished) terminalAt = encoder.encode(before).length
      })
      return out === "" ? undefined : encoder.encode(out)
    },
    get terminalAt() {
      return terminalAt
    },
    done() {
      // An event whose blank line never came may still be whole.
      const rest = splitter.pending
      const tail = rest === undefined ? "" : translator.event(rest)
      const end = translator.end()
      switch (end.kind) {
        case "complete":
          return { bytes: encoder.encode(tail + end.text), end: { kind: "complete" } }
        case "upstream-error":
          return { bytes: encoder.encode(tail), end: { kind: "failed", error: new Error("the upstream sent an error event") } }
        case "cut": {
          const head = encoder.encode(tail)
          const bytes = new Uint8Array(head.length + hooks.failureEvent.length)
          bytes.set(head, 0)
          bytes.set(hooks.failureEvent, head.length)
          return { bytes, end: { kind: "failed", error: new Error("the upstream stream ended before its last event") } }
        }
      }
    },
    get finished() {
      return translator.finished
    }
  }, hooks)
}
