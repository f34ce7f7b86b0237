import { denoCheckpointDriver, openDenoStore } from "./deno-store.ts"
import { streamWriter } from "./log-out.ts"
import { nodeUpstreamHttp } from "./node-http.ts"
import { nodeServeWith } from "./node-serve.ts"
import { start } from "./start.ts"
import { slicesThroughTimers } from "./turns.ts"

/** The part of Deno's namespace this entry point uses (the project is type-checked with Node's typings). */
declare const Deno: {
  readonly version: { readonly deno: string }
  addSignalListener(signal: "SIGTERM" | "SIGINT", handler: () => void): void
  removeSignalListener(signal: "SIGTERM" | "SIGINT", handler: () => void): void
}

// A backlog of work (thousands of streams ending together) must not keep /healthz waiting.
slicesThroughTimers()

await start({
  runtime: `deno ${Deno.version.deno}`,
  openStore: openDenoStore,
  checkpointDriver: denoCheckpointDriver,
  // Deno's node:http, as on Node: against its fetch, an open stream keeps tens of KiB less
  // outside the JS heap, and saturation throughput is about a tenth higher.
  http: nodeUpstreamHttp(),
  // Node's server too: Deno.serve holds more memory per open stream (see node-serve.ts).
  serve: nodeServeWith({ readBodies: false }),
  // Deno leaves the stdout it was given blocking (see streamWriter).
  logOutput: streamWriter(1),
  onSignal: (signal, handler) => {
    const once = () => {
      Deno.removeSignalListener(signal, once)
      handler()
    }
    Deno.addSignalListener(signal, once)
  }
})
