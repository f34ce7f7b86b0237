import { nodeUpstreamHttp } from "./node-http.ts"
import { nodeServeWith } from "./node-serve.ts"
import { nodeCheckpointDriver, openNodeStore } from "./node-store.ts"
import { onProcessSignal, type Platform, start } from "./start.ts"

/**
 * Starts the relay on Node. `npm start` runs this module compiled ahead of time, with the
 * config compiled beside it (node-aot.mjs); node.ts runs it from the TypeScript sources.
 */
export const startNode = (compiledConfig?: Platform["compiledConfig"]): Promise<void> =>
  start({
    runtime: `node ${process.version}`,
    openStore: openNodeStore,
    checkpointDriver: nodeCheckpointDriver,
    http: nodeUpstreamHttp(),
    serve: nodeServeWith({ readBodies: true }),
    onSignal: onProcessSignal,
    compiledConfig
  })
