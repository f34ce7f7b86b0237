import { describe, it } from "node:test"
import { openNodeStore } from "../../runtime/node-store.ts"
import { IMPLEMENTATIONS, portSuites } from "./suites.ts"

// Each port's contract, against the relay's implementations and against the same ones behind a
// delay; test/runtime/port-contracts.test.ts runs the first under Bun and Deno.
for (const [kind, implementations] of Object.entries(IMPLEMENTATIONS)) {
  for (const suite of portSuites(implementations, () => openNodeStore(":memory:"))) {
    describe(`${suite.name} port (${kind})`, () => {
      for (const contractCase of suite.cases) it(contractCase.name, contractCase.run)
    })
  }
}
