/**
 * A streamed body read one chunk at a time: the shape the streaming core reads upstream bodies
 * in and hands the client's body on in. It is a Web stream reader cut down to what the core
 * uses, so that a runtime can give the core its own streams without Web streams in between: on
 * Node each Web stream layer kept about 1.3 KiB per open stream, with its pending reads.
 *
 * One read at a time: a caller awaits each read before the next.
 */
export interface ChunkReader {
  /** The next chunk, or undefined once the body has ended; rejects if the body failed. */
  read(): Promise<Uint8Array | undefined>
  /** The rest is not wanted (the client went away): stop the source and let go of it. */
  cancel(reason?: unknown): void
}

/** A Web stream read as a ChunkReader. */
export const streamReader = (stream: ReadableStream<Uint8Array>): ChunkReader => {
  const reader = stream.getReader()
  return {
    read: () => reader.read().then((result) => (result.done ? undefined : result.value)),
    cancel: (reason) => {
      reader.cancel(reason).catch(() => undefined)
    }
  }
}

/**
 * A ChunkReader as a Web stream, for whoever needs one (a server that takes a Response's body).
 * Pulled one chunk per read, with no queue of its own: backpressure reaches the reader.
 */
export const webStream = (reader: ChunkReader): ReadableStream<Uint8Array> =>
  new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const chunk = await reader.read()
        if (chunk === undefined) controller.close()
        else controller.enqueue(chunk)
      },
      cancel(reason) {
        reader.cancel(reason)
      }
    },
    { highWaterMark: 0 }
  )

const readers = new WeakMap<Response, ChunkReader>()

/** Whether a streamed Response gets its Web stream when made, or when `body` is first read. */
let bodiesOnDemand = false

/**
 * For a runtime whose server writes streamed answers from their readers (`ownReaderOf`), and
 * whose Response class is plain JavaScript (Node's server adapter): a streamed answer's Web
 * stream is then built only if some code reads its `body`, such as middleware that rebuilds
 * the response. On Node, building one costs about 8 us on the way to a stream's first byte,
 * for a stream nothing reads. A server that reads `body` natively (Bun, Deno) must not call
 * this: it would not see the deferred stream. Only `body` is deferred: such a response read
 * with `text()` or `arrayBuffer()` reads as empty, and nothing in the relay reads one so.
 */
export const buildStreamBodiesOnDemand = (): void => {
  bodiesOnDemand = true
}

/**
 * A streamed Response whose body is `reader`. Its `body` is a Web stream over the reader, for
 * any code that reads Responses; a consumer that knows this module takes the reader itself
 * from `readerOf` and no Web stream ever runs. A response has one reader of its body: either
 * way, not both.
 */
export const streamResponse = (reader: ChunkReader, init: ResponseInit): Response => {
  const response = bodiesOnDemand ? withBodyOnDemand(reader, init) : new Response(webStream(reader), init)
  readers.set(response, reader)
  return response
}

const withBodyOnDemand = (reader: ChunkReader, init: ResponseInit): Response => {
  const response = new Response(null, init)
  let body: ReadableStream<Uint8Array> | undefined
  Object.defineProperty(response, "body", { get: () => (body ??= webStream(reader)) })
  return response
}

/**
 * A streamed Response that only the core reads: its body is `reader` alone, with no Web stream
 * (`body` is null), read through `readerOf`, or whole through `bytesOf`. For an upstream
 * client, whose answers go to the core and nowhere else: a Web stream costs Node about 8 us to
 * build, on the way to a stream's first byte.
 */
export const readerResponse = (reader: ChunkReader, init: ResponseInit): Response => {
  const response = new Response(null, init)
  readers.set(response, reader)
  return response
}

/** The reader of a response's body: its own from `streamResponse`, else one over its stream. */
export const readerOf = (response: Response): ChunkReader | undefined => {
  const own = readers.get(response)
  if (own !== undefined) return own
  const body = response.body
  return body === null ? undefined : streamReader(body)
}

/** The reader a `streamResponse` was made with; undefined for any other Response. */
export const ownReaderOf = (response: Response): ChunkReader | undefined => readers.get(response)

/** Everything `reader` has left, as one chunk. */
export const readAll = async (reader: ChunkReader): Promise<Uint8Array<ArrayBuffer>> => {
  const parts: Array<Uint8Array> = []
  for (let part = await reader.read(); part !== undefined; part = await reader.read()) parts.push(part)
  const whole = concatChunks(parts)
  return new Uint8Array(whole.buffer as ArrayBuffer, whole.byteOffset, whole.byteLength)
}

/** One chunk of `parts`, copied only when there is more than one. */
export const concatChunks = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
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
