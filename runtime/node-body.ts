import type { IncomingMessage } from "node:http"

/**
 * A message's whole body if it has all arrived and nothing has read it yet: one synchronous
 * read instead of the ticks a flowing stream needs to hand it over. Both ends use it, the
 * server for a client's request and the upstream client for an answer.
 */
export const completeBody = (message: IncomingMessage): Uint8Array<ArrayBuffer> | undefined => {
  if (!message.complete || message.readableFlowing !== null) return undefined
  // Node's read() hands over all that is buffered at once, Deno's one chunk at a time: read
  // while anything is buffered, and no further (a read past it would ask the connection for
  // more). The read that empties a complete message ends it.
  if (message.readableLength === 0) {
    message.read()
    return new Uint8Array()
  }
  const parts: Array<Buffer> = []
  for (let part: Buffer | null; message.readableLength > 0 && (part = message.read() as Buffer | null) !== null; ) parts.push(part)
  return new Uint8Array(parts.length === 1 ? parts[0]! : Buffer.concat(parts))
}

/**
 * A client's request body, whole: at once when it has arrived, else once it has (rejected if
 * the client goes before its end); undefined when something else reads the message already.
 */
export const requestBody = (message: IncomingMessage): Uint8Array<ArrayBuffer> | Promise<Uint8Array<ArrayBuffer>> | undefined => {
  const whole = completeBody(message)
  if (whole !== undefined || message.readableFlowing !== null) return whole
  return new Promise((resolve, reject) => {
    const parts: Array<Buffer> = []
    message.on("data", (part: Buffer) => parts.push(part))
    message.once("end", () => resolve(new Uint8Array(Buffer.concat(parts))))
    message.once("close", () => {
      if (!message.complete) reject(new Error("the client went away before the body's end"))
    })
  })
}
