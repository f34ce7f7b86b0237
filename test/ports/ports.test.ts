import { describe, it } from "node:test"
import { Effect, Layer } from "effect"
import { ChargeJournal, Ledger, UsageRecords } from "../../core/index.ts"
import { sqliteBilling } from "../../plugins/billing/index.ts"
import { openNodeStore } from "../../runtime/node-store.ts"
import { billingContract } from "./billing.contract.ts"
import { servicesOver } from "./contract.ts"
import { memoryChargeJournal } from "./memory.ts"
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

// The shipped billing with a charge journal, as the serving relay runs it: the same contract
// holds when charges become durable in the journal first and reach the store later.
describe("Ledger and UsageRecords port (shipped, charges journaled)", () => {
  const open = async () => {
    const services = Layer.merge(await servicesOver(openNodeStore(":memory:")), Layer.succeed(ChargeJournal, memoryChargeJournal()))
    return Effect.runPromise(Effect.provide(Effect.all({ ledger: Ledger, usage: UsageRecords }), Layer.provide(sqliteBilling, services)))
  }
  for (const contractCase of billingContract(open)) it(contractCase.name, contractCase.run)
})
