import { concatChunks } from "./chunk-reader.ts"
import { valueEnd } from "./json-field.ts"
import { isJsonSpace } from "./sse/events.ts"

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const COMMA = 0x2c
const OPEN_OBJECT = 0x7b

const decoder = new TextDecoder()
const encoder = new TextEncoder()
const OPEN = encoder.encode("{")
const SEPARATOR = encoder.encode(",")
const CLOSE = encoder.encode("}")

/** One top-level member of an object, as offsets into its text: the key from its quote, the value. */
interface Member {
  readonly name: string
  readonly from: number
  readonly valueFrom: number
  readonly to: number
}

const skipSpace = (bytes: Uint8Array, at: number) => {
  while (isJsonSpace(bytes[at])) at++
  return at
}

/** The members of the JSON object in `bytes`, in order; undefined when it is not one. */
const membersOf = (bytes: Uint8Array): Array<Member> | undefined => {
  let at = skipSpace(bytes, 0)
  if (bytes[at] !== OPEN_OBJECT) return undefined
  const members: Array<Member> = []
  at = skipSpace(bytes, at + 1)
  while (bytes[at] === QUOTE) {
    const from = at
    const keyEnd = valueEnd(bytes, at)
    if (keyEnd === -1) return undefined
    const raw = bytes.subarray(at + 1, keyEnd - 1)
    // A key written with escapes ("\u006dodel") is still that key.
    const name = raw.includes(BACKSLASH) ? (JSON.parse(decoder.decode(bytes.subarray(at, keyEnd))) as string) : decoder.decode(raw)
    at = skipSpace(bytes, keyEnd)
    if (bytes[at] !== COLON) return undefined
    const valueFrom = skipSpace(bytes, at + 1)
    const to = valueEnd(bytes, valueFrom)
    if (to === -1) return undefined
    members.push({ name, from, valueFrom, to })
    at = skipSpace(bytes, to)
    if (bytes[at] !== COMMA) break
    at = skipSpace(bytes, at + 1)
  }
  return members
}

const CLOSE_OBJECT = 0x7d

/**
 * The JSON object in `bytes` with `fields`, none of which it has, added at its end: the common
 * edit (a stream asked for its usage) without walking the members. Undefined if `bytes` does
 * not end an object.
 */
export const appendTopLevel = (bytes: Uint8Array, fields: ReadonlyMap<string, unknown>): Uint8Array<ArrayBuffer> | undefined => {
  let close = bytes.length - 1
  while (isJsonSpace(bytes[close])) close--
  if (bytes[close] !== CLOSE_OBJECT) return undefined
  let last = close - 1
  while (isJsonSpace(bytes[last])) last--
  let text = ""
  for (const [name, value] of fields) text += `${text === "" && bytes[last] === OPEN_OBJECT ? "" : ","}${JSON.stringify(name)}:${JSON.stringify(value)}`
  const added = encoder.encode(text)
  const out = new Uint8Array(close + added.length + bytes.length - close)
  out.set(bytes.subarray(0, close))
  out.set(added, close)
  out.set(bytes.subarray(close), close + added.length)
  return out
}

/**
 * The JSON object in `bytes` with some top-level fields set (or removed, for undefined), every
 * other member kept as the client wrote it. A body that goes upstream with a field or two
 * changed (an alias's model, a capped max_tokens, stream usage asked for) is not re-serialised:
 * JSON.parse and JSON.stringify would round an integer above 2^53 (a `seed`), and cost time
 * in proportion to the whole body. `bytes` has been parsed as an object already; undefined if
 * its text is somehow not one.
 */
export const editTopLevel = (bytes: Uint8Array, edits: ReadonlyMap<string, unknown>): Uint8Array<ArrayBuffer> | undefined => {
  const members = membersOf(bytes)
  if (members === undefined) return undefined
  const parts: Array<Uint8Array> = []
  const value = (name: string) => encoder.encode(JSON.stringify(edits.get(name)))
  for (const member of members) {
    if (!edits.has(member.name)) parts.push(bytes.subarray(member.from, member.to))
    // A duplicated key takes the new value each time: whichever one the upstream reads.
    else if (edits.get(member.name) !== undefined) parts.push(concatChunks([bytes.subarray(member.from, member.valueFrom), value(member.name)]))
  }
  const present = new Set(members.map((member) => member.name))
  for (const [name, set] of edits) {
    if (set !== undefined && !present.has(name)) parts.push(concatChunks([encoder.encode(`${JSON.stringify(name)}:`), value(name)]))
  }
  // Several chunks are always joined into a new buffer: a plain ArrayBuffer.
  return concatChunks([OPEN, ...parts.flatMap((part, i) => (i === 0 ? [part] : [SEPARATOR, part])), CLOSE]) as Uint8Array<ArrayBuffer>
}
