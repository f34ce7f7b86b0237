import { InvalidRequest } from "./errors.ts"
import { randomBase62 } from "./secrets.ts"
import { asciiPattern, indexOfAscii } from "./sse/events.ts"

/**
 * multipart/form-data (RFC 7578 over RFC 2046), read strictly and written anew.
 *
 * The relay admits and charges an upload by its text fields (model, n, size, quality) and sends
 * the upstream its files. Were it to forward the client's own bytes, any difference between its
 * parser and the upstream's (a `name=` found inside `xname=`, a field sent twice, a parameter
 * quoted oddly) would let a crafted form be checked as one request and run as another. So the
 * form is parsed to the letter, anything ambiguous is refused, and what goes upstream is the
 * form rebuilt from what was parsed: the same parts, values and files byte for byte, with
 * headers and a boundary of the relay's own.
 */

/** One part of a form, located in the rebuilt body's bytes (nothing is copied). */
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

/** A parsed form: the rebuilt body (what goes upstream), its content type, and its parts. */
export interface Form {
  readonly body: Uint8Array<ArrayBuffer>
  readonly contentType: string
  readonly parts: ReadonlyArray<FormPart>
}

const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8", { fatal: true })
const CRLF = asciiPattern("\r\n")
const HEADER_END = asciiPattern("\r\n\r\n")
const invalid = (message: string) => new InvalidRequest({ message: `multipart/form-data: ${message}` })

// RFC 7230 token and quoted-string (with quoted-pair), the grammar of header parameters.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const PARAM = /\s*;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\\r\n]|\\[^\r\n])*)"|([!#$%&'*+.^_`|~0-9A-Za-z-]+))\s*/y
// RFC 2046: 1 to 70 characters, no trailing space.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/

/**
 * A header value's leading token and its parameters, each named once. Undefined when the value
 * does not follow the grammar (then nothing can be trusted about it).
 */
const parameters = (value: string): { readonly type: string; readonly params: ReadonlyMap<string, string> } | undefined => {
  const semicolon = value.indexOf(";")
  const type = (semicolon === -1 ? value : value.slice(0, semicolon)).trim().toLowerCase()
  const params = new Map<string, string>()
  let at = semicolon === -1 ? value.length : semicolon
  while (at < value.length) {
    PARAM.lastIndex = at
    const match = PARAM.exec(value)
    if (match === null) return undefined
    const name = match[1]!.toLowerCase()
    if (params.has(name)) return undefined
    params.set(name, match[2] === undefined ? match[3]! : match[2].replace(/\\(.)/g, "$1"))
    at = PARAM.lastIndex
  }
  return { type, params }
}

/** The boundary of a multipart/form-data content type, or why there is none. */
const boundaryOf = (contentType: string): string | InvalidRequest => {
  const parsed = parameters(contentType)
  if (parsed === undefined || parsed.type !== "multipart/form-data") return invalid("the content type's parameters cannot be read")
  const boundary = parsed.params.get("boundary")
  if (boundary === undefined || !BOUNDARY.test(boundary)) return invalid("the content type needs a boundary of 1 to 70 allowed characters")
  return boundary
}

interface ParsedPart {
  readonly name: string
  readonly filename: string | undefined
  readonly type: string | undefined
  readonly value: Uint8Array
}

/** A part's headers: one Content-Disposition of type form-data with a name, maybe a filename and a type. */
const partHeaders = (block: Uint8Array): Omit<ParsedPart, "value"> | InvalidRequest => {
  let text: string
  try {
    text = decoder.decode(block)
  } catch {
    return invalid("a part's headers are not UTF-8")
  }
  const seen = new Map<string, string>()
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":")
    const field = colon <= 0 ? "" : line.slice(0, colon).toLowerCase()
    // No folded lines (obsolete), no bare CR or LF, no header named twice.
    if (!TOKEN.test(field) || /[\r\n]/.test(line)) return invalid("a part has a malformed header line")
    if (seen.has(field)) return invalid(`a part has its ${field} header twice`)
    seen.set(field, line.slice(colon + 1).trim())
  }
  const disposition = seen.get("content-disposition")
  const parsed = disposition === undefined ? undefined : parameters(disposition)
  if (parsed === undefined || parsed.type !== "form-data") return invalid("each part needs one Content-Disposition: form-data with a name")
  for (const param of parsed.params.keys()) {
    // RFC 7578 section 4.2: no `filename*`; anything but name and filename is not a form's.
    if (param !== "name" && param !== "filename") return invalid(`a part's Content-Disposition has a parameter ${JSON.stringify(param)} a form does not use`)
  }
  const name = parsed.params.get("name")
  if (name === undefined || name === "") return invalid("each part needs a name")
  const type = seen.get("content-type")
  if (type !== undefined && !/^[!-~][ -~]*$/.test(type)) return invalid(`part ${JSON.stringify(name)} has a malformed Content-Type`)
  return { name, filename: parsed.params.get("filename"), type }
}

/** The parts of a form as the client sent it; a text field named twice is refused. */
const parseParts = (body: Uint8Array, boundary: string): Array<ParsedPart> | InvalidRequest => {
  const dash = asciiPattern(`--${boundary}`)
  const delimiter = asciiPattern(`\r\n--${boundary}`)
  // The first boundary line opens the body, or follows a preamble and its CRLF.
  let at = body[0] === 0x2d && indexOfAscii(body, dash) === 0 ? 0 : indexOfAscii(body, delimiter)
  if (at === -1) return invalid("the body has no boundary line")
  let afterDelimiter = at + (at === 0 ? dash.bytes.length : delimiter.bytes.length)
  const parts: Array<ParsedPart> = []
  const names = new Set<string>()
  for (;;) {
    // `--` closes the body; otherwise optional transport padding, then CRLF.
    if (body[afterDelimiter] === 0x2d && body[afterDelimiter + 1] === 0x2d) break
    let lineEnd = afterDelimiter
    while (body[lineEnd] === 0x20 || body[lineEnd] === 0x09) lineEnd++
    if (indexOfAscii(body, CRLF, lineEnd) !== lineEnd) return invalid("a boundary line is followed by something other than a line end")
    const headersFrom = lineEnd + 2
    const headersEnd = indexOfAscii(body, HEADER_END, headersFrom)
    const next = indexOfAscii(body, delimiter, headersFrom)
    if (next === -1) return invalid("the body is cut short: a part has no closing boundary")
    if (headersEnd === -1 || headersEnd > next) return invalid("a part has no blank line after its headers")
    const headers = partHeaders(body.subarray(headersFrom, headersEnd))
    if (headers instanceof InvalidRequest) return headers
    // A name may repeat only among files (several images); a field that repeats, or is both a
    // file and a text, could be read one way here and another upstream.
    const key = headers.filename === undefined ? `text:${headers.name}` : `file:${headers.name}`
    if (names.has(`text:${headers.name}`) || (headers.filename === undefined && names.has(`file:${headers.name}`))) {
      return new InvalidRequest({ message: `${headers.name}: the form has this field more than once`, param: headers.name })
    }
    if (headers.filename !== undefined && names.has(`text:${headers.name}`)) {
      return new InvalidRequest({ message: `${headers.name}: the form has this field more than once`, param: headers.name })
    }
    names.add(key)
    parts.push({ ...headers, value: body.subarray(headersEnd + HEADER_END.bytes.length, next) })
    at = next
    afterDelimiter = at + delimiter.bytes.length
  }
  if (parts.length === 0) return invalid("the form has no parts")
  return parts
}

/** A parameter value as a quoted-string: quotes and backslashes escaped (CR and LF cannot occur). */
const quoted = (value: string) => `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`

/**
 * Reads a multipart/form-data body strictly (RFC 7578 and 2046) and rebuilds it: the parts in
 * their order, each value and file byte for byte, under headers and a boundary of the relay's
 * own. The parts are located in the rebuilt body, which is what goes upstream.
 */
export const readForm = (body: Uint8Array, contentType: string): Form | InvalidRequest => {
  const boundary = boundaryOf(contentType)
  if (boundary instanceof InvalidRequest) return boundary
  const parsed = parseParts(body, boundary)
  if (parsed instanceof InvalidRequest) return parsed
  const fresh = `relay-${randomBase62(32)}`
  const chunks: Array<Uint8Array> = []
  const parts: Array<FormPart> = []
  let length = 0
  const push = (bytes: Uint8Array) => {
    chunks.push(bytes)
    length += bytes.length
  }
  for (const part of parsed) {
    const from = length
    const disposition = `form-data; name=${quoted(part.name)}${part.filename === undefined ? "" : `; filename=${quoted(part.filename)}`}`
    push(encoder.encode(`--${fresh}\r\nContent-Disposition: ${disposition}\r\n${part.type === undefined ? "" : `Content-Type: ${part.type}\r\n`}\r\n`))
    const start = length
    push(part.value)
    parts.push({ from, name: part.name, filename: part.filename, start, end: length })
    push(encoder.encode("\r\n"))
  }
  push(encoder.encode(`--${fresh}--\r\n`))
  const out = new Uint8Array(length)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return { body: out, contentType: `multipart/form-data; boundary=${fresh}`, parts }
}

/** The text fields of a form (files left out), by name: what the relay reads of an upload. */
export const formFields = (body: Uint8Array, parts: ReadonlyArray<FormPart>): Record<string, string> | InvalidRequest => {
  const fields: Record<string, string> = {}
  for (const part of parts) {
    if (part.filename !== undefined) continue
    try {
      fields[part.name] = decoder.decode(body.subarray(part.start, part.end))
    } catch {
      return new InvalidRequest({ message: `${part.name}: the field is not UTF-8 text`, param: part.name })
    }
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
