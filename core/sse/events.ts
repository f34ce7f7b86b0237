const LF = 0x0a
const CR = 0x0d

/**
 * Splits an SSE byte stream into whole events without decoding it. Event boundaries are a blank
 * line (`\n\n` or `\r\n\r\n`); every byte of those is ASCII, and UTF-8 never reuses ASCII bytes
 * inside a multi-byte character, so scanning bytes is exact. Complete events are handed out as
 * views of the incoming chunk (no copy); only an event that straddles chunks is copied once.
 */
export class SseEventSplitter {
  private carry: Uint8Array | undefined

  /** Calls `onEvent` for each complete event in `chunk`, terminator included, in order. */
  push(chunk: Uint8Array, onEvent: (event: Uint8Array) => void): void {
    let bytes = chunk
    let scanFrom = 0
    if (this.carry !== undefined) {
      bytes = new Uint8Array(this.carry.length + chunk.length)
      bytes.set(this.carry, 0)
      bytes.set(chunk, this.carry.length)
      // A boundary may straddle the join: look back far enough to see all of `\n\r\n`.
      scanFrom = Math.max(0, this.carry.length - 2)
      this.carry = undefined
    }
    let start = 0
    for (let i = scanFrom; i < bytes.length; i++) {
      if (bytes[i] !== LF) continue
      let end = -1
      if (bytes[i + 1] === LF) end = i + 2
      else if (bytes[i + 1] === CR && bytes[i + 2] === LF) end = i + 3
      if (end === -1) continue
      if (start < end) onEvent(bytes.subarray(start, end))
      start = end
      i = end - 1
    }
    if (start < bytes.length) this.carry = bytes.slice(start)
  }

  /** The bytes of an event not yet terminated, if any. */
  get pending(): Uint8Array | undefined {
    return this.carry
  }
}

/** Where the ASCII `pattern` starts in `bytes` at or after `from`, or -1 (a tight loop: events are small). */
export const indexOfAscii = (bytes: Uint8Array, pattern: Uint8Array, from = 0): number => {
  const first = pattern[0]
  const last = bytes.length - pattern.length
  outer: for (let i = from; i <= last; i++) {
    if (bytes[i] !== first) continue
    for (let j = 1; j < pattern.length; j++) {
      if (bytes[i + j] !== pattern[j]) continue outer
    }
    return i
  }
  return -1
}

/** Whether `bytes` contains the ASCII `pattern`. */
export const includesAscii = (bytes: Uint8Array, pattern: Uint8Array): boolean => indexOfAscii(bytes, pattern) !== -1

const isJsonSpace = (byte: number | undefined) => byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d

/**
 * Whether `bytes` holds the JSON key `quotedName` (such as `"usage"`) with an object value,
 * whatever whitespace the writer put around the colon. A key quoted inside a JSON string is
 * escaped (`\"usage\"`), so it never matches.
 */
export const hasObjectField = (bytes: Uint8Array, quotedName: Uint8Array): boolean => {
  for (let at = indexOfAscii(bytes, quotedName); at !== -1; at = indexOfAscii(bytes, quotedName, at + 1)) {
    if (bytes[at - 1] === 0x5c) continue
    let i = at + quotedName.length
    while (isJsonSpace(bytes[i])) i++
    if (bytes[i] !== 0x3a) continue
    i++
    while (isJsonSpace(bytes[i])) i++
    if (bytes[i] === 0x7b) return true
  }
  return false
}

const decoder = new TextDecoder()

/** The payload of an event's `data:` lines as sent (`[DONE]` included), or undefined for a comment. */
export const eventPayload = (event: Uint8Array): string | undefined => {
  const text = decoder.decode(event)
  let data: string | undefined
  for (const line of text.split(/\r?\n/)) {
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
