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
