import { InvalidRequest } from "./errors.ts"
import { asciiPattern, indexOfAscii } from "./sse/events.ts"

/** One part of a multipart/form-data body, located in the body's bytes (nothing is copied). */
export interface FormPart {
  /** Where the part begins: its boundary line. */
  readonly from: number
  readonly name: string
  /** Present for a file part. */
  readonly filename: string | undefined
  /** Where the part's value lies in the body. */
  readonly start: number
  readonly end: number
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const HEADER_END = asciiPattern("\r\n\r\n")

const boundaryOf = (contentType: string): string | undefined => {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  return match?.[1] ?? match?.[2]
}

/**
 * Locates the parts of a multipart/form-data body without decoding or copying the files: the
 * relay reads only the text fields it routes and bills by, and forwards the upload as sent.
 */
export const formParts = (body: Uint8Array, contentType: string): Array<FormPart> | InvalidRequest => {
  const boundary = boundaryOf(contentType)
  if (boundary === undefined) return new InvalidRequest({ message: "multipart/form-data body without a boundary" })
  const delimiter = asciiPattern(`--${boundary}`)
  const parts: Array<FormPart> = []
  let at = indexOfAscii(body, delimiter)
  if (at === -1) return new InvalidRequest({ message: "multipart/form-data body without its first boundary" })
  for (;;) {
    const afterDelimiter = at + delimiter.bytes.length
    // `--` right after a delimiter closes the body.
    if (body[afterDelimiter] === 0x2d && body[afterDelimiter + 1] === 0x2d) return parts
    const headersEnd = indexOfAscii(body, HEADER_END, afterDelimiter)
    if (headersEnd === -1) return new InvalidRequest({ message: "multipart/form-data part without its headers' end" })
    const headers = decoder.decode(body.subarray(afterDelimiter, headersEnd))
    const start = headersEnd + HEADER_END.bytes.length
    const next = indexOfAscii(body, delimiter, start)
    if (next === -1) return new InvalidRequest({ message: "multipart/form-data body is cut short" })
    // The value ends before the CRLF that precedes the next delimiter.
    const end = body[next - 2] === 0x0d && body[next - 1] === 0x0a ? next - 2 : next
    const name = /name="([^"]*)"/i.exec(headers)?.[1]
    if (name === undefined) return new InvalidRequest({ message: "multipart/form-data part without a name" })
    parts.push({ from: at, name, filename: /filename="([^"]*)"/i.exec(headers)?.[1], start, end })
    at = next
  }
}

/** The text fields of a form (files left out), by name: what the relay reads of an upload. */
export const formFields = (body: Uint8Array, parts: ReadonlyArray<FormPart>): Record<string, string> => {
  const fields: Record<string, string> = {}
  for (const part of parts) {
    if (part.filename === undefined) fields[part.name] = decoder.decode(body.subarray(part.start, part.end))
  }
  return fields
}

/** The body without one part (a field the upstream must not get); the rest untouched. */
export const removePart = (body: Uint8Array, part: FormPart): Uint8Array<ArrayBuffer> => {
  // From the part's boundary line to the next one: what remains is still a well-formed form.
  const next = part.end + 2
  const out = new Uint8Array(body.length - (next - part.from))
  out.set(body.subarray(0, part.from), 0)
  out.set(body.subarray(next), part.from)
  return out
}

/** The body with one part's value replaced (an aliased model's upstream name); files untouched. */
export const replacePart = (body: Uint8Array, part: FormPart, value: string): Uint8Array<ArrayBuffer> => {
  const replacement = encoder.encode(value)
  const out = new Uint8Array(body.length - (part.end - part.start) + replacement.length)
  out.set(body.subarray(0, part.start), 0)
  out.set(replacement, part.start)
  out.set(body.subarray(part.end), part.start + replacement.length)
  return out
}
