import type { OutgoingMessage } from "node:http"

/**
 * Node builds an outgoing message's head by appending to a string piece by piece, and keeps
 * that string (`_header`) for as long as the message lives: a rope of a few dozen small
 * strings. An open stream keeps two such messages for its whole life, the relay's request
 * upstream and its response to the client. Reading the head once makes V8 flatten the rope in
 * place into one string and let go of its pieces: about 1 KiB less per open stream.
 */
export const flattenHead = (message: OutgoingMessage): void => {
  const head: unknown = Reflect.get(message, "_header")
  if (typeof head === "string") head.charCodeAt(0)
}
