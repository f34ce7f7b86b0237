import { concatChunks } from "../chunk-reader.ts"

const LF = 0x0a
const CR = 0x0d

/** Where carried bytes end, as the next chunk's scan needs to know: inside a line, */
const IN_LINE = 0
/** just past a line's terminator (the next byte may begin the blank line), */
const LINE_START = 1
/** on a CR ending a line with content: if the next byte is LF, the line starts after it, */
const AFTER_CR = 2
/** or on the CR of a blank line: its LF, if that is the next byte, still belongs to the event. */
const BLANK_CR = 3

/** What `blankLineEnd` says when the line has content, or when the bytes end too soon to tell. */
const NOT_BLANK = -1
const UNDECIDED = -2

/** Where the line starting at `at` ends, past its terminator (CRLF, LF or CR), if that line is blank. */
const blankLineEnd = (bytes: Uint8Array, at: number): number => {
  const byte = bytes[at]
  if (byte === LF) return at + 1
  if (byte === CR) return at + 1 === bytes.length ? UNDECIDED : bytes[at + 1] === LF ? at + 2 : at + 1
  return byte === undefined ? UNDECIDED : NOT_BLANK
}

/** Whether `bytes` holds, from `from`, a CR that ends a line alone (one at the end may). */
const hasLoneCR = (bytes: Uint8Array, from: number): boolean => {
  for (let i = bytes.indexOf(CR, from); i !== -1; i = bytes.indexOf(CR, i + 1)) if (bytes[i + 1] !== LF) return true
  return false
}

/**
 * Splits an SSE byte stream into whole events without decoding it. An event ends with a blank
 * line, and a line may end with CRLF, LF or a lone CR (WHATWG HTML, event stream
 * interpretation); every byte of those is ASCII, and UTF-8 never reuses ASCII bytes inside a
 * multi-byte character, so scanning bytes is exact. Complete events are handed out as views of
 * the incoming chunk (no copy). An event that straddles chunks is kept as the pieces it came in
 * and joined once, when its boundary arrives: joining at every chunk instead made one long event
 * (a 32 MB image in 64 KB chunks) cost quadratic copying.
 */
export class SseEventSplitter {
  /** The unterminated event, copied out of its chunks: a caller may reuse a chunk it has pushed. */
  private pieces: Array<Uint8Array> = []
  /** How `pieces` ends: each chunk is scanned once, so a boundary split across two is found here. */
  private seam = IN_LINE
  /**
   * Whether lines may end with a lone CR, so that CRs are searched for as well as LFs; undefined
   * before the first chunk. Servers end lines with LF or CRLF, and searching every chunk for a
   * second byte costs the common stream half as much again, so a stream is searched for lone CRs
   * only in its first chunk and in the bytes of every event that spans chunks (where a CR-only
   * stream's events are, before their blank line is seen). Not seen: a stream that turns to lone
   * CRs later, in a chunk of whole events where an LF blank line follows them.
   */
  private crLines: boolean | undefined

  /** Calls `onEvent` for each complete event in `chunk`, terminator included, in order. */
  push(chunk: Uint8Array, onEvent: (event: Uint8Array) => void): void {
    if (chunk.length === 0) return
    this.crLines ??= hasLoneCR(chunk, 0)
    const seam = this.seam
    let start = 0
    let carried = this.pieces.length > 0
    // How the unterminated rest of the chunk ends, if there is one.
    let rest = IN_LINE
    // Runs again, from the first event not handed out, when the chunk shows the first lone CRs.
    split: for (;;) {
      // A line start still to be tested for a blank line, or -1 to find the next line end.
      let at = -1
      if (carried) {
        if (seam === LINE_START) at = 0
        else if (seam === AFTER_CR) at = chunk[0] === LF ? 1 : 0
        else if (seam === BLANK_CR) {
          start = chunk[0] === LF ? 1 : 0
          this.complete(chunk.subarray(0, start), onEvent)
          carried = false
        }
      }
      rest = IN_LINE
      // indexOf is the engine's own scan, several times faster than a loop over the bytes here.
      let lf = chunk.indexOf(LF, start)
      let cr = this.crLines ? chunk.indexOf(CR, start) : -1
      for (;;) {
        if (at === -1) {
          const i = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr
          if (i === -1) break
          at = i + 1
          if (i === cr) {
            if (at === chunk.length) {
              rest = AFTER_CR
              break
            }
            if (chunk[at] === LF) at++
          }
        }
        const end = blankLineEnd(chunk, at)
        if (end === UNDECIDED) {
          rest = at === chunk.length ? LINE_START : BLANK_CR
          break
        }
        let next = at
        if (end !== NOT_BLANK) {
          if (!carried) onEvent(chunk.subarray(start, end))
          else {
            const head = chunk.subarray(0, end)
            if (!this.crLines && hasLoneCR(head, 0)) {
              this.crLines = true
              continue split
            }
            this.complete(head, onEvent)
            carried = false
          }
          start = end
          next = end
        }
        at = -1
        if (lf !== -1 && lf < next) lf = chunk.indexOf(LF, next)
        if (cr !== -1 && cr < next) cr = chunk.indexOf(CR, next)
      }
      if (start === chunk.length || this.crLines || !hasLoneCR(chunk, start)) break
      this.crLines = true
    }
    if (start < chunk.length) {
      this.pieces.push(chunk.slice(start))
      this.seam = rest
    }
  }

  /** Whether an event is waiting for its boundary; unlike `pending`, costs no copy. */
  get carrying(): boolean {
    return this.pieces.length > 0
  }

  /** The bytes of an event not yet terminated, if any, joined into one: a copy, for a stream's end. */
  get pending(): Uint8Array | undefined {
    return this.pieces.length === 0 ? undefined : concatChunks(this.pieces)
  }

  /** The carried event ends with `head`, the start of a chunk: hands it out whole. */
  private complete(head: Uint8Array, onEvent: (event: Uint8Array) => void): void {
    if (head.length > 0) this.pieces.push(head)
    const event = concatChunks(this.pieces)
    this.pieces.length = 0
    onEvent(event)
  }
}

/** Bytes of JSON and English text, the most frequent first. */
const FREQUENT = ' "e:,taoinsr{}lhdcu.mp_-0123456789\n'
const frequency = new Uint8Array(256)
for (let i = 0; i < FREQUENT.length; i++) frequency[FREQUENT.charCodeAt(i)] = FREQUENT.length - i

/** An ASCII pattern to search bytes for, and the index of the byte it is searched by. */
export interface AsciiPattern {
  readonly bytes: Uint8Array
  readonly anchor: number
}

/** A pattern searched by its least frequent byte (the `g` of `"usage"`, not its quote). */
export const asciiPattern = (text: string): AsciiPattern => {
  const bytes = new TextEncoder().encode(text)
  let anchor = 0
  for (let i = 1; i < bytes.length; i++) if (frequency[bytes[i]!]! < frequency[bytes[anchor]!]!) anchor = i
  return { bytes, anchor }
}

/** Whether `wanted` is in `bytes` at `start`. */
const matchesAt = (bytes: Uint8Array, wanted: Uint8Array, start: number) => {
  let j = 0
  while (j < wanted.length && bytes[start + j] === wanted[j]) j++
  return j === wanted.length
}

/**
 * Where `pattern` starts in `bytes` at or after `from`, or -1. The engine's own indexOf finds
 * each place of the pattern's anchor byte and only there are the other bytes compared: a loop
 * over every byte in JavaScript is half as fast on Node and thirty times slower on Bun.
 */
export const indexOfAscii = (bytes: Uint8Array, pattern: AsciiPattern, from = 0): number => {
  const { bytes: wanted, anchor } = pattern
  const byte = wanted[anchor]!
  for (let i = bytes.indexOf(byte, from + anchor); i !== -1; i = bytes.indexOf(byte, i + 1)) {
    const start = i - anchor
    // Every later anchor starts further right still.
    if (start + wanted.length > bytes.length) return -1
    if (matchesAt(bytes, wanted, start)) return start
  }
  return -1
}

/** Where `pattern` last starts in `bytes`, or -1; searched as `indexOfAscii`. */
export const lastIndexOfAscii = (bytes: Uint8Array, pattern: AsciiPattern): number => {
  const { bytes: wanted, anchor } = pattern
  const byte = wanted[anchor]!
  const last = bytes.length - wanted.length
  if (last < 0) return -1
  // A negative start would search from the end again: the loop stops before the first byte.
  for (let i = bytes.lastIndexOf(byte, last + anchor); i !== -1; i = i === 0 ? -1 : bytes.lastIndexOf(byte, i - 1)) {
    const start = i - anchor
    if (start < 0) return -1
    if (matchesAt(bytes, wanted, start)) return start
  }
  return -1
}

/** Whether `bytes` contains `pattern`. */
export const includesAscii = (bytes: Uint8Array, pattern: AsciiPattern): boolean => indexOfAscii(bytes, pattern) !== -1

/** The start of an SSE `data:` line, and the key of the usage object in both protocols' events. */
export const DATA_FIELD = asciiPattern("data:")
export const USAGE_KEY = asciiPattern('"usage"')

export const isJsonSpace = (byte: number | undefined) => byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d

/**
 * Whether `bytes` holds the JSON key `quotedName` (such as `"usage"`) with an object value,
 * whatever whitespace the writer put around the colon. A key quoted inside a JSON string is
 * escaped (`\"usage\"`), so it never matches.
 */
export const hasObjectField = (bytes: Uint8Array, quotedName: AsciiPattern): boolean => {
  for (let at = indexOfAscii(bytes, quotedName); at !== -1; at = indexOfAscii(bytes, quotedName, at + 1)) {
    if (bytes[at - 1] === 0x5c) continue
    if (bytes[fieldValueAt(bytes, at, quotedName)] === 0x7b) return true
  }
  return false
}

/**
 * Where the value of the key `quotedName` found at `at` starts, past the colon and whatever
 * whitespace the writer put around it; -1 when no colon follows (the text is not a key).
 */
export const fieldValueAt = (bytes: Uint8Array, at: number, quotedName: AsciiPattern): number => {
  let i = at + quotedName.bytes.length
  while (isJsonSpace(bytes[i])) i++
  if (bytes[i] !== 0x3a) return -1
  i++
  while (isJsonSpace(bytes[i])) i++
  return i
}

const decoder = new TextDecoder()

/** A line's end in SSE: CRLF, LF or a lone CR. */
export const LINE_END = /\r\n|\r|\n/

/** The payload of an event's `data:` lines as sent (`[DONE]` included), or undefined for a comment. */
export const eventPayload = (event: Uint8Array): string | undefined => {
  const text = decoder.decode(event)
  let data: string | undefined
  for (const line of text.split(LINE_END)) {
    if (!line.startsWith("data:")) continue
    const value = line.charCodeAt(5) === 0x20 ? line.slice(6) : line.slice(5)
    data = data === undefined ? value : `${data}\n${value}`
  }
  return data
}

/** The JSON payload of an event's `data:` lines, or undefined for comments and `[DONE]`. */
export const eventData = (event: Uint8Array): string | undefined => {
  const data = eventPayload(event)
  return data === "[DONE]" ? undefined : data
}
