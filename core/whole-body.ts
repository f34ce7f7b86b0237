import { ownReaderOf, readAll } from "./chunk-reader.ts"

/**
 * Bodies already in memory, by the Response that carries them. Whoever holds a whole body
 * (the upstream client that read a non-streaming answer, a leg that built one) registers it
 * here, and the next reader takes the bytes without a Web stream: on Node, reading a body
 * through one costs more than the rest of a relayed request.
 */
const bodies = new WeakMap<Response, Uint8Array<ArrayBuffer>>()

/** A Response for `bytes` that `bytesOf` reads without a stream. */
export const wholeResponse = (bytes: Uint8Array<ArrayBuffer>, init: ResponseInit): Response => {
  const response = new Response(bytes, init)
  bodies.set(response, bytes)
  return response
}

/** A response's whole body when it is already in memory; undefined if it must be read. */
export const heldBytesOf = (response: Response): Uint8Array<ArrayBuffer> | undefined => bodies.get(response)

/** A response's whole body: held, read from its own reader, or read from its stream. */
export const bytesOf = async (response: Response): Promise<Uint8Array<ArrayBuffer>> => {
  const held = heldBytesOf(response)
  if (held !== undefined) return held
  const reader = ownReaderOf(response)
  return reader === undefined ? new Uint8Array(await response.arrayBuffer()) : readAll(reader)
}
