import type { IncomingMessage } from "node:http"

/**
 * A message's whole body if it has all arrived and nothing has read it yet: one synchronous
 * read instead of the ticks a flowing stream needs to hand it over. Both ends use it, the
 * server for a client's request and the upstream client for an answer.
 */
export const completeBody = (message: IncomingMessage): Uint8Array<ArrayBuffer> | undefined => {
  if (!message.complete || message.readableFlowing !== null) return undefined
  // With nothing buffered, read() returns null; either way it lets the message end.
  const whole = message.read() as Buffer | null
  return whole === null ? new Uint8Array() : new Uint8Array(whole)
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
