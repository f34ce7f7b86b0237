import { type AsciiPattern, fieldValueAt, isJsonSpace, lastIndexOfAscii } from "./sse/events.ts"

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c

const decoder = new TextDecoder()

/** The most text after the field's value that is walked to prove it top-level. */
const LONGEST_TAIL = 4096

/** Whether the byte at `at` is escaped: preceded by an odd run of backslashes. */
const escaped = (bytes: Uint8Array, at: number) => {
  let run = 0
  while (at - run - 1 >= 0 && bytes[at - run - 1] === BACKSLASH) run++
  return run % 2 === 1
}

/** Where the string that opens at `at` closes (the index after its closing quote), or -1. */
const stringEnd = (bytes: Uint8Array, at: number) => {
  for (let i = bytes.indexOf(QUOTE, at + 1); i !== -1; i = bytes.indexOf(QUOTE, i + 1)) {
    if (!escaped(bytes, i)) return i + 1
  }
  return -1
}

const OPENS = (byte: number) => byte === 0x7b || byte === 0x5b
const CLOSES = (byte: number) => byte === 0x7d || byte === 0x5d

/** Where the JSON value that starts at `start` ends (the index after it), or -1. */
export const valueEnd = (bytes: Uint8Array, start: number) => {
  const first = bytes[start]
  if (first === undefined) return -1
  if (first === QUOTE) return stringEnd(bytes, start)
  if (!OPENS(first)) {
    // A number, true, false or null: up to the comma, space or bracket after it.
    let i = start
    while (i < bytes.length && bytes[i] !== COMMA && !CLOSES(bytes[i]!) && !isJsonSpace(bytes[i])) i++
    return i
  }
  let depth = 0
  for (let i = start; i < bytes.length; i++) {
    const byte = bytes[i]!
    if (byte === QUOTE) {
      i = stringEnd(bytes, i) - 1
      if (i < 0) return -1
    } else if (OPENS(byte)) depth++
    else if (CLOSES(byte) && --depth === 0) return i + 1
  }
  return -1
}

/**
 * Whether the JSON text from `from` (between tokens) to the end closes exactly one object or
 * array, and no more: the place `from` was at the top level of the document.
 */
const closesOne = (bytes: Uint8Array, from: number) => {
  let depth = 0
  for (let i = from; i < bytes.length; i++) {
    const byte = bytes[i]!
    if (depth === -1) {
      if (!isJsonSpace(byte)) return false
    } else if (byte === QUOTE) {
      i = stringEnd(bytes, i) - 1
      if (i < 0) return false
    } else if (OPENS(byte)) depth++
    else if (CLOSES(byte)) depth--
  }
  return depth === -1
}

/**
 * The value of a top-level field of the JSON object in `bytes` (`key` is the quoted name, such
 * as `"usage"`), or undefined when the body is not a JSON object or has no such field; a
 * duplicated field reads as its last, as JSON.parse has it.
 *
 * Only the field's value is parsed. The field is found from the end, where the providers put
 * `usage`, and it is top-level if what follows its value closes exactly one object. An answer
 * of embeddings or images runs to megabytes: parsing it whole to read its usage held the event
 * loop for about 20 ms per 3 MB of embeddings. What cannot be told this way (the last such key
 * is nested, the text is not JSON) is parsed whole.
 */
export const topLevelField = (bytes: Uint8Array, key: AsciiPattern): unknown => {
  const at = lastIndexOfAscii(bytes, key)
  if (at === -1) return undefined
  found: if (!escaped(bytes, at)) {
    const i = fieldValueAt(bytes, at, key)
    if (i === -1) break found
    const end = valueEnd(bytes, i)
    // The tail is walked byte by byte: a key far from the end is not the providers' layout.
    if (end === -1 || bytes.length - end > LONGEST_TAIL || !closesOne(bytes, end)) break found
    try {
      return JSON.parse(decoder.decode(bytes.subarray(i, end)))
    } catch {
      break found
    }
  }
  return wholeField(bytes, key)
}

/** The field read by parsing the whole body. */
const wholeField = (bytes: Uint8Array, key: AsciiPattern): unknown => {
  try {
    const body: unknown = JSON.parse(decoder.decode(bytes))
    if (body === null || typeof body !== "object" || Array.isArray(body)) return undefined
    return (body as Record<string, unknown>)[decoder.decode(key.bytes.subarray(1, -1))]
  } catch {
    return undefined
  }
}
