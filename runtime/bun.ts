/// <reference types="bun-types" />
import { dirname } from "node:path"
import { openBunStore } from "./bun-store.ts"
import { globalFetch, onProcessSignal, start } from "./start.ts"

await start({
  runtime: `bun ${Bun.version}`,
  openStore: openBunStore,
  // Bun's fetch pools keep-alive connections and streams response bodies as they arrive.
  http: globalFetch,
  serve: async (handle, hostname, port) => {
    const server = Bun.serve({
      hostname,
      port,
      fetch: (request, self) => {
        // Bun closes a connection that is quiet for 10 s, a response in flight included; a model
        // may think longer than that before its first byte or between two chunks. The relay
        // bounds a request itself (the provider's timeout), so requests get no idle limit.
        self.timeout(request, 0)
        return handle(request)
      }
    })
    return { port: server.port ?? port, close: () => server.stop(), cut: () => void server.stop(true) }
  },
  onSignal: onProcessSignal,
  ...(Bun.isStandaloneExecutable ? { executableDir: dirname(process.execPath) } : {})
})
