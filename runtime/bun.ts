/// <reference types="bun-types" />
import { dirname } from "node:path"
import { type ChunkReader, ownReaderOf, setClientAddress } from "../core/index.ts"
import { bunCheckpointDriver, openBunStore } from "./bun-store.ts"
import { capAnswer } from "./cap-answer.ts"
import { nodeUpstreamHttp } from "./node-http.ts"
import { isHealthCheck, turn } from "./turns.ts"
import { onProcessSignal, start } from "./start.ts"

/**
 * A streamed answer Bun's server writes straight from `reader` (a direct stream): each chunk
 * goes to the connection as it comes, with no queue and no pull per chunk in between, which a
 * Web stream costs every chunk. `ended` is called once the reader has given its last chunk.
 */
const directStream = (reader: ChunkReader, ended: () => void): ReadableStream<Uint8Array> => {
  const source: Bun.DirectUnderlyingSource<Uint8Array> = {
    type: "direct",
    async pull(controller) {
      try {
        for (let chunk = await reader.read(); chunk !== undefined; chunk = await reader.read()) {
          // Awaited when the client is slower than the upstream: backpressure reaches the reader.
          const written = controller.write(chunk)
          if (written instanceof Promise) await written
          const flushed = controller.flush()
          if (flushed instanceof Promise) await flushed
        }
      } catch (error) {
        // The client went away mid-write: the reader lets the upstream go.
        reader.cancel(error)
        throw error
      }
      ended()
      controller.close()
    },
    cancel: (reason) => reader.cancel(reason)
  }
  // The project's types are Node's, whose ReadableStream knows no direct source.
  return new ReadableStream(source as unknown as UnderlyingDefaultSource<Uint8Array>)
}

await start({
  runtime: `bun ${Bun.version}`,
  openStore: openBunStore,
  checkpointDriver: bunCheckpointDriver,
  // node:http, as on Node and Deno: Bun's fetch runs at most 256 requests at once (more wait
  // unseen in a queue, whatever the machine could hold) unless BUN_CONFIG_MAX_HTTP_REQUESTS is
  // set before the process starts, which a relay cannot do for itself; its node:http has no
  // such cap.
  http: nodeUpstreamHttp(),
  serve: async (handle, hostname, port, limits) => {
    const idleSeconds = Math.min(255, Math.ceil(Math.max(limits.headersTimeoutMs, limits.keepAliveMs) / 1000))
    const server = Bun.serve({
      hostname,
      port,
      // Bun has one idle limit for a connection, before a request's head and between requests
      // alike (at most 255 s): the longer of the two the config sets.
      idleTimeout: idleSeconds,
      fetch: async (request, self) => {
        // Bun tells no connections apart, only requests: past the cap, in-flight requests are
        // what is refused.
        if (self.pendingRequests > limits.maxConnections) return capAnswer()
        // Bun closes a connection that is quiet for its idle time, a response in flight
        // included; a model may think longer than that before its first byte or between two
        // chunks. The relay bounds a request itself (the provider's timeout, the body's pace,
        // the stream's idle time), so a request in flight gets no idle limit.
        self.timeout(request, 0)
        setClientAddress(request, self.requestIP(request)?.address)
        const wait = isHealthCheck(request.url) ? undefined : turn()
        if (wait !== undefined) await wait
        const response = await handle(request)
        const reader = ownReaderOf(response)
        if (reader === undefined) {
          // A whole answer is written at once: the connection is then idle, and keeps Bun's
          // idle limit (the setting above outlives the request). A stream the core did not
          // make (none today) keeps none.
          if (!/^text\/event-stream/i.test(response.headers.get("content-type") ?? "")) self.timeout(request, idleSeconds)
          return response
        }
        // A stream's connection gets its idle limit back with the stream's end, while the
        // response is still Bun's to finish: set after, it would reach no connection.
        return new Response(directStream(reader, () => self.timeout(request, idleSeconds)), response)
      }
    })
    return { port: server.port ?? port, close: () => server.stop(), cut: () => void server.stop(true) }
  },
  onSignal: onProcessSignal,
  ...(Bun.isStandaloneExecutable ? { executableDir: dirname(process.execPath) } : {})
})
