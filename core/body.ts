import { concatChunks } from "./chunk-reader.ts"
import { InvalidRequest, PayloadTooLarge } from "./errors.ts"
import { jsonShapeProblem } from "./json-limits.ts"

const tooLarge = (maxBytes: number) =>
  new PayloadTooLarge({ message: `request body is larger than the relay's limit of ${maxBytes} bytes` })

/**
 * Reads a request body up to `maxBytes`. A declared Content-Length over the limit is refused
 * before a byte is read; a chunked body is cut off as soon as it passes the limit.
 */
export const readBody = async (request: Request, maxBytes: number): Promise<Uint8Array<ArrayBuffer> | PayloadTooLarge> => {
  const declared = request.headers.get("content-length")
  if (declared !== null) {
    if (Number(declared) > maxBytes) return tooLarge(maxBytes)
    // The HTTP parser holds the body to its declared length, so it can be read whole; the
    // server adapters read it this way without building a Web stream.
    return new Uint8Array(await request.arrayBuffer())
  }
  if (request.body === null) return new Uint8Array()
  const reader = request.body.getReader()
  const parts: Array<Uint8Array> = []
  let length = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    length += value.length
    if (length > maxBytes) {
      await reader.cancel().catch(() => undefined)
      return tooLarge(maxBytes)
    }
    parts.push(value)
  }
  // Request streams hand out plain ArrayBuffer-backed chunks, never shared memory.
  return concatChunks(parts) as Uint8Array<ArrayBuffer>
}

const decoder = new TextDecoder()

/** Parses a JSON object body within the shape limits; anything else is a 400 that says what was wrong. */
export const parseJsonObject = (bytes: Uint8Array): Record<string, unknown> | InvalidRequest => {
  if (bytes.length === 0) return new InvalidRequest({ message: "request body is empty; expected a JSON object" })
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(bytes))
  } catch {
    return new InvalidRequest({ message: "request body is not valid JSON" })
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return new InvalidRequest({ message: "request body must be a JSON object" })
  }
  const problem = jsonShapeProblem(value)
  return problem === undefined ? (value as Record<string, unknown>) : new InvalidRequest({ message: problem })
}
