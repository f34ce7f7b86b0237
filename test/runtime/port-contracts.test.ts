import { fixtureOnEachRuntime } from "../helpers/runtime-fixtures.ts"

fixtureOnEachRuntime(
  "the relay's port implementations keep their contracts on each runtime",
  "test/fixtures/port-contracts.ts",
  (runtime) => new RegExp(`the port contracts hold on ${runtime}`)
)
