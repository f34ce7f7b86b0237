import { type ClientRequest, Agent as HttpAgent, type IncomingMessage, request as httpRequest } from "node:http"
import { Agent as HttpsAgent, request as httpsRequest } from "node:https"
import { closeSync, openSync } from "node:fs"
import { devNull } from "node:os"
import { type ChunkReader, readAll, readerResponse, type UpstreamHttpShape, wholeResponse } from "../core/index.ts"
import { completeBody } from "./node-body.ts"
import { flattenHead } from "./node-head.ts"
import { inTurn } from "./turns.ts"

/**
 * The upstream client on Node and Deno: node:http with keep-alive agents, handing back a Web
 * Response. Node's global fetch (undici) costs a few hundred microseconds more per call, most
 * of it in its AbortSignal and Request plumbing; on a relay that is most of the added latency.
 * Deno's fetch keeps tens of KiB per open stream outside the JS heap, which its node:http does
 * not.
 */
export const nodeUpstreamHttp = (): UpstreamHttpShape => {
  const agents = {
    "http:": new HttpAgent({ keepAlive: true, keepAliveMsecs: 30_000, scheduling: "lifo" }),
    "https:": new HttpsAgent({ keepAlive: true, keepAliveMsecs: 30_000, scheduling: "lifo" })
  }
  return {
    send: (url, init, fresh) => {
      const target = new URL(url)
      const secure = target.protocol === "https:"
      if (!secure && target.protocol !== "http:") {
        return { response: Promise.reject(new TypeError(`unsupported protocol ${target.protocol}`)), abort: () => undefined }
      }
      const method = init.method ?? "GET"
      const req = (secure ? httpsRequest : httpRequest)({
        // Without an agent, node:http opens a connection of its own and closes it after.
        agent: fresh === true ? false : agents[target.protocol as "http:" | "https:"],
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method,
        headers: init.headers as Record<string, string>
      })
      const response = responseOf(req, method)
      const body = init.body
      if (body === undefined || body === null) req.end()
      else if (typeof body === "string" || body instanceof Uint8Array) req.end(body)
      else req.destroy(new TypeError("unsupported request body"))
      // Destroying the request stops its response too, whether it is awaited, streaming, or
      // an error body being read.
      return { response, abort: () => req.destroy(new Error("aborted")) }
    }
  }
}

/**
 * The Response to `req`. Its listeners live as long as the response streams, so they are made
 * where little is in scope: not the request body (which can be large), not the response's
 * headers, and once the promise is settled not its resolving functions either, which would
 * keep the promise and so the Response it resolved with for the whole stream.
 */
const responseOf = (req: ClientRequest, method: string) =>
  new Promise<Response>((resolvePromise, rejectPromise) => {
    let settle: { resolve: typeof resolvePromise; reject: typeof rejectPromise } | undefined = { resolve: resolvePromise, reject: rejectPromise }
    const resolve = (response: Response) => {
      settle?.resolve(response)
      settle = undefined
    }
    req.on("error", (error) => {
      settle?.reject(settle === undefined ? error : ownShortage(error))
      settle = undefined
    })
    req.on("response", (res) => {
      // A stream lives long: the request's head, sent already, need not stay as it was built.
      if (answerOf(res, method, resolve)) flattenHead(req)
    })
  })

/**
 * `error`, or the process's own shortage of file descriptors behind it. Bun's node:http reports
 * a connection it could not open for want of descriptors as ECONNREFUSED, which would blame the
 * upstream and its key; opening one more descriptor tells the two apart, and only a request
 * that failed pays for it.
 */
const ownShortage = (error: Error): Error => {
  try {
    closeSync(openSync(devNull, "r"))
    return error
  } catch (probe) {
    const code = (probe as { code?: unknown }).code
    return code === "EMFILE" || code === "ENFILE" ? Object.assign(new Error(`out of file descriptors (${code})`, { cause: error }), { code }) : error
  }
}

/**
 * Hands `res` to `resolve` as a Response: an event stream at once, as it arrives (then true is
 * returned), any other answer once read whole, and without a Web stream since the relay reads
 * it whole anyway.
 */
const answerOf = (res: IncomingMessage, method: string, resolve: (response: Response) => void): boolean => {
  const headers = new Headers()
  const raw = res.rawHeaders
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!)
  const status = res.statusCode ?? 502
  if (status === 204 || status === 304 || method === "HEAD") {
    resolve(new Response(null, { status, headers }))
    return false
  }
  if (/^text\/event-stream/i.test(headers.get("content-type") ?? "")) {
    resolve(readerResponse(messageReader(res), { status, headers }))
    return true
  }
  // A body cut short is the answer's failure, not the connection's: the response still
  // resolves (so the request is not sent again elsewhere), and reading it fails.
  readWhole(res).then(
    (bytes) => resolve(wholeResponse(bytes, { status, headers })),
    (error) => resolve(new Response(new ReadableStream({ start: (controller) => controller.error(error) }), { status, headers }))
  )
  return false
}

/** A whole response body; fails if the response is cut off before its end. */
const readWhole = (res: IncomingMessage) =>
  new Promise<Uint8Array<ArrayBuffer>>((resolve, reject) => {
    // A small answer usually arrives in the packet that carried its head, and the parser has
    // all of it once this turn's callbacks are done: one synchronous read then takes it,
    // instead of the ticks a flowing stream needs to hand it over.
    queueMicrotask(() => {
      const whole = completeBody(res)
      if (whole !== undefined) resolve(whole)
      else readFlowing(res).then(resolve, reject)
    })
  })

/** A body read as it arrives; fails if the message is cut off before its end. */
const readFlowing = (res: IncomingMessage): Promise<Uint8Array<ArrayBuffer>> => readAll(messageReader(res))

/**
 * A response body read chunk by chunk, straight from node:http. At most one chunk waits here:
 * the message is paused while it does, so backpressure reaches the upstream socket.
 */
const messageReader = (res: IncomingMessage): ChunkReader => {
  const waiting: Array<Buffer> = []
  let pending: { resolve: (chunk: Uint8Array | undefined) => void; reject: (error: Error) => void } | undefined
  let ended = false
  let failure: Error | undefined
  res.on("data", (chunk: Buffer) => {
    if (pending === undefined) {
      waiting.push(chunk)
      res.pause()
      return
    }
    const { resolve } = pending
    pending = undefined
    inTurn(() => resolve(chunk))
  })
  res.on("end", () => {
    ended = true
    const waiter = pending
    if (waiter !== undefined) inTurn(() => waiter.resolve(undefined))
  })
  // An aborted message may report its error before it closes; the close is what ends a read.
  res.on("error", () => undefined)
  res.on("close", () => {
    if (ended) return
    failure = new Error("upstream closed the response before its end")
    pending?.reject(failure)
  })
  return {
    read() {
      const chunk = waiting.shift()
      if (chunk !== undefined) {
        if (waiting.length === 0) res.resume()
        return Promise.resolve(chunk)
      }
      if (ended) return Promise.resolve(undefined)
      if (failure !== undefined) return Promise.reject(failure)
      return new Promise((resolve, reject) => {
        pending = { resolve, reject }
      })
    },
    cancel() {
      ended = true
      res.destroy()
      pending?.resolve(undefined)
    }
  }
}
