import { Effect, Layer } from "effect"
import { Accounts, ConsoleSessions, Credentials, Ledger, RateWindows, type SqlShape, UsageRecords } from "../../core/index.ts"
import { sqliteBilling } from "../../plugins/billing/index.ts"
import { memoryConsoleSessions } from "../../plugins/console/index.ts"
import { sqliteAccounts } from "../../plugins/keys/index.ts"
import { memoryRateWindows } from "../../plugins/limiter/index.ts"
import { sqliteCredentials } from "../../plugins/vault/index.ts"
import { accountsContract } from "./accounts.contract.ts"
import { billingContract } from "./billing.contract.ts"
import { consoleSessionsContract, type TestClock } from "./console-sessions.contract.ts"
import { build, type ContractCase, servicesOver } from "./contract.ts"
import { credentialsContract } from "./credentials.contract.ts"
import { delayed } from "./delayed.ts"
import { rateWindowsContract } from "./rate-windows.contract.ts"

/** The relay's own implementations of every port, as each plugin provides them by default. */
const shipped = {
  accounts: sqliteAccounts,
  billing: sqliteBilling,
  credentials: sqliteCredentials,
  rateWindows: memoryRateWindows,
  consoleSessions: (clock: TestClock) =>
    memoryConsoleSessions({ ttlMs: 10_000, anonymousTtlMs: 1_000, maxSessions: 100, maxSignedOutPerAddress: 32, now: clock.now })
}

const kit = { Effect, Layer }

/** The same implementations, each behind a delay (a stand-in for a store a network away). */
const delayedToo = {
  accounts: delayed(kit, Accounts, shipped.accounts),
  billing: delayed(kit, Ledger, delayed(kit, UsageRecords, shipped.billing)),
  credentials: delayed(kit, Credentials, shipped.credentials),
  rateWindows: delayed(kit, RateWindows, shipped.rateWindows),
  consoleSessions: (clock: TestClock) => delayed(kit, ConsoleSessions, shipped.consoleSessions(clock))
}

export const IMPLEMENTATIONS = { shipped, delayed: delayedToo } as const

export interface Suite {
  readonly name: string
  readonly cases: ReadonlyArray<ContractCase>
}

/** Every port's contract against one set of implementations, each case on a fresh store from `open`. */
export const portSuites = (implementations: typeof shipped, open: () => SqlShape): ReadonlyArray<Suite> => {
  const fresh = () => servicesOver(open())
  return [
    { name: "Accounts", cases: accountsContract(async () => build(Accounts, implementations.accounts, await fresh())) },
    {
      name: "Ledger and UsageRecords",
      cases: billingContract(async () => {
        const services = await fresh()
        const both = Layer.provide(implementations.billing, services)
        return Effect.runPromise(Effect.provide(Effect.all({ ledger: Ledger, usage: UsageRecords }), both))
      })
    },
    { name: "Credentials", cases: credentialsContract(async () => build(Credentials, implementations.credentials, await fresh())) },
    { name: "RateWindows", cases: rateWindowsContract(async () => build(RateWindows, implementations.rateWindows, await fresh())) },
    { name: "ConsoleSessions", cases: consoleSessionsContract(async (clock) => build(ConsoleSessions, implementations.consoleSessions(clock), await fresh())) }
  ]
}
