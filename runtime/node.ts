import { serve } from "@hono/node-server"
import { nodeUpstreamHttp } from "./node-http.ts"
import { openNodeStore } from "./node-store.ts"
import { onProcessSignal, start } from "./start.ts"

await start({
  runtime: `node ${process.version}`,
  openStore: openNodeStore,
  http: nodeUpstreamHttp(),
  serve: (handle, hostname, port) =>
    new Promise((listening) => {
      const server = serve({ fetch: handle, hostname, port }, (address) => listening({ port: address.port, close }))
      const closeIdle = () => {
        if ("closeIdleConnections" in server) server.closeIdleConnections()
      }
      // Node keeps keep-alive connections open after close(): an idle one could carry new
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
    }),
  onSignal: onProcessSignal
})
