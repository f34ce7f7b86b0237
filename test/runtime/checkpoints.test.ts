import { fixtureOnEachRuntime } from "../helpers/runtime-fixtures.ts"

fixtureOnEachRuntime(
  "each runtime checkpoints the store's log in a worker, and on its own connection once the worker stops",
  "test/fixtures/checkpoint-contract.ts",
  () => /the checkpoint contract holds/
)
