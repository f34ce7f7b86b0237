import { nodeUpstreamHttp } from "./node-http.ts"
import { nodeServe } from "./node-serve.ts"
import { nodeCheckpointDriver, openNodeStore } from "./node-store.ts"
import { onProcessSignal, start } from "./start.ts"

await start({
  runtime: `node ${process.version}`,
  openStore: openNodeStore,
  checkpointDriver: nodeCheckpointDriver,
  http: nodeUpstreamHttp(),
  serve: nodeServe,
  onSignal: onProcessSignal
})
