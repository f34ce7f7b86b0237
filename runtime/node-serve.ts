import type { IncomingMessage, ServerResponse } from "node:http"
import type { AddressInfo, Socket } from "node:net"
import { createAdaptorServer, type Http2Bindings, type HttpBindings } from "@hono/node-server"
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response"
import { buildStreamBodiesOnDemand, ownReaderOf, readArrivedBodyWith, setClientAddress, watchClientWith } from "../core/index.ts"
import { capAnswer } from "./cap-answer.ts"
import { requestBody } from "./node-body.ts"
import { whenClosedEarly, writeChunks } from "./node-stream-out.ts"
import type { Platform } from "./start.ts"
import { isHealthCheck, turn } from "./turns.ts"

/** Asked of listen(); the kernel lowers it to its own limit (net.core.somaxconn). */
const LISTEN_BACKLOG = 65_535

/** Connections opened past the cap: each gets one 429 and is closed. */
const overCap = new WeakSet<Socket>()

/**
 * The relay's handler for a node:http server: a streamed answer made by the core is written
 * from its ChunkReader by `writeChunks`; any other answer goes through the adapter as usual.
 * The response's close event tells the core of a client gone early, not the request's signal.
 */
const respond = (handle: (request: Request) => Response | Promise<Response>, readBodies: boolean) => async (request: Request, env: HttpBindings | Http2Bindings) => {
  const incoming = env.incoming as IncomingMessage
  const { socket } = incoming
  if (overCap.has(socket)) return capAnswer()
  setClientAddress(request, socket.remoteAddress)
  if (readBodies) readArrivedBodyWith(request, () => requestBody(incoming))
  // The server is HTTP/1.1: its responses are node:http ServerResponses.
  const outgoing = env.outgoing as ServerResponse
  watchClientWith(request, (gone) => whenClosedEarly(outgoing, gone))
  const wait = isHealthCheck(request.url) ? undefined : turn()
  if (wait !== undefined) await wait
  const response = await handle(request)
  const reader = ownReaderOf(response)
  if (reader === undefined) return response
  void writeChunks(reader, response, outgoing)
  return RESPONSE_ALREADY_SENT
}

/**
 * The server of Node, and of Deno: node:http through Hono's adapter. On Deno it holds an open
 * stream in less memory than Deno.serve (about 80 against 125 KiB per stream the first time
 * a thousand are open) and adds less latency.
 *
 * `readBodies` takes a request's body straight from node:http (Node); Deno's node:http hands a
 * body over differently (a chunk per read, and a read past the buffered bytes disturbs a
 * kept-alive connection), so there the Web Request reads it.
 */
export const nodeServeWith = (options: { readonly readBodies: boolean }): Platform["serve"] => (handle, hostname, port, limits) => {
  // The adapter's Response is plain JavaScript, and `respond` writes streams from their readers.
  buildStreamBodiesOnDemand()
  return new Promise((listening, failed) => {
    const server = createAdaptorServer({
      fetch: respond(handle, options.readBodies),
      hostname,
      // The relay reads on and drops a body it refused (a 413 must reach a client that is still
      // writing); the adapter's own clean-up would cut such a body after half a second. A body
      // nobody read, node:http drops itself once the answer is out.
      autoCleanupIncoming: false,
      serverOptions: {
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        keepAliveTimeout: limits.keepAliveMs,
        // node:http looks for connections past those times every 30 s unless told otherwise.
        connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs)
      }
    })
    // The kernel's queue of connections not yet accepted holds the system's most (somaxconn)
    // rather than node's 511: thousands of clients connecting in the same moment, while the
    // event loop is busy with the previous ones, would overflow it and be reset.
    server.listen({ port, host: hostname, backlog: LISTEN_BACKLOG }, () => {
      server.off("error", failed)
      listening({ port: (server.address() as AddressInfo).port, close, cut })
    })
    // Past the cap a connection is not refused silently: its first request gets a 429 with
    // Retry-After, read from nothing but its head, and the connection closes.
    let open = 0
    server.on("connection", (socket: Socket) => {
      if (++open > limits.maxConnections) overCap.add(socket)
      socket.once("close", () => open--)
    })
    // An address that cannot be bound (in use, a host that does not resolve) fails the start.
    server.once("error", failed)
    const closeIdle = () => {
      if ("closeIdleConnections" in server) server.closeIdleConnections()
    }
    const cut = () => {
      if ("closeAllConnections" in server) server.closeAllConnections()
    }
    // node:http keeps keep-alive connections open after close(): an idle one could carry new
    // requests, and one whose stream has ended would hold the server until its client hangs
    // up. Each is closed as soon as it has no request in flight.
    const close = () =>
      new Promise<void>((closed) => {
        const sweep = setInterval(closeIdle, 50)
        server.close(() => {
          clearInterval(sweep)
          closed()
        })
        closeIdle()
      })
  })
}
