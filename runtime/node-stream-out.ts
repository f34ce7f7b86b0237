import type { ServerResponse } from "node:http"
import type { ChunkReader } from "../core/index.ts"
import { flattenHead } from "./node-head.ts"

/** Resolves on the next `drain`, or when the response closes first (the client went away). */
const drained = (outgoing: ServerResponse) =>
  new Promise<void>((resolve) => {
    const done = () => {
      outgoing.off("drain", done)
      outgoing.off("close", done)
      resolve()
    }
    outgoing.on("drain", done)
    outgoing.on("close", done)
  })

const SLOW = Symbol("slow")

/** Resolves to SLOW after the I/O callbacks of this turn of the event loop. */
const thisTurn = () => new Promise<typeof SLOW>((resolve) => setImmediate(resolve, SLOW))

/**
 * Writes a streamed answer to a node:http response from its ChunkReader, with no Web stream in
 * between. The head goes out with the first chunk, in one write, when that chunk is already on
 * its way (an upstream's first chunk usually arrives with its headers); otherwise the head goes
 * out at once, so a client waiting on a slow first token still sees its response begin.
 * The client going away cancels the reader, and with it the upstream request.
 */
export const writeChunks = (reader: ChunkReader, response: Response, outgoing: ServerResponse): Promise<void> => {
  const head: Record<string, string> = {}
  response.headers.forEach((value, name) => {
    head[name] = value
  })
  outgoing.writeHead(response.status, head)
  flattenHead(outgoing)
  // The Response is done with: the stream that follows must not keep it (and its body) alive.
  return pump(reader, outgoing)
}

const pump = async (reader: ChunkReader, outgoing: ServerResponse): Promise<void> => {
  let cancelled = false
  const onClose = () => {
    if (cancelled || outgoing.writableFinished) return
    cancelled = true
    reader.cancel("the client went away")
  }
  // An error event on the response (a write to a broken connection) must not go unheard: it
  // would end the process. Either way the reader is cancelled.
  outgoing.on("close", onClose)
  outgoing.on("error", onClose)
  try {
    const first = reader.read()
    if ((await Promise.race([first, thisTurn()])) === SLOW) outgoing.flushHeaders()
    let uncorked = false
    for (let chunk = await first; chunk !== undefined; chunk = await reader.read()) {
      // Destroyed before its close event has run (it comes a tick later, and the finally below
      // removes its listener): the client is gone all the same.
      if (outgoing.destroyed) return onClose()
      const room = outgoing.write(chunk)
      // node:http holds a response's writes until its next tick (it corks the socket), which
      // comes after every promise reaction queued meanwhile: for a stream the upstream sent in
      // one piece, after its end was read and settled. The first bytes leave now; the rest of
      // such a stream and its end still go out together.
      if (!uncorked) {
        outgoing.socket?.uncork()
        uncorked = true
      }
      if (!room) await drained(outgoing)
    }
    if (!outgoing.destroyed) outgoing.end()
  } catch {
    // The relay's streams end in-band (an error event); a reader that still fails cuts the
    // response, so the client sees a broken stream rather than a complete one.
    outgoing.destroy()
  } finally {
    outgoing.off("close", onClose)
    outgoing.off("error", onClose)
  }
}

/** Calls `gone` if the response closes before it was all written: the client went away. */
export const whenClosedEarly = (outgoing: ServerResponse, gone: () => void) => {
  // It may have gone while the request was read.
  if (outgoing.closed) {
    if (!outgoing.writableFinished) gone()
    return () => undefined
  }
  const onClose = () => {
    if (!outgoing.writableFinished) gone()
  }
  outgoing.on("close", onClose)
  return () => {
    outgoing.off("close", onClose)
  }
}
