import { Effect, Layer } from "effect"
import {
  AccountLimits,
  Accounts,
  AuditLog,
  combinedRegistry,
  ConsoleSessions,
  Credentials,
  Ledger,
  type ProviderAdapter,
  ProviderRegistry,
  RateWindows,
  type SqlShape,
  StoredResponses,
  TokenCounting,
  UsageRecords
} from "../../core/index.ts"
import { sqliteAuditLog } from "../../plugins/audit-log/index.ts"
import { sqliteBilling } from "../../plugins/billing/index.ts"
import { memoryConsoleSessions } from "../../plugins/console/index.ts"
import { sqliteAccounts } from "../../plugins/keys/index.ts"
import { memoryRateWindows, sqliteAccountLimits } from "../../plugins/limiter/index.ts"
import { providerRegistry, providerRegistryLayer } from "../../plugins/providers/registry/index.ts"
import { sqliteResponses } from "../../plugins/responses/index.ts"
import { tokenizerCounting } from "../../plugins/tokenizer/index.ts"
import { sqliteCredentials } from "../../plugins/vault/index.ts"
import { accountLimitsContract } from "./account-limits.contract.ts"
import { accountsContract } from "./accounts.contract.ts"
import { auditLogContract } from "./audit-log.contract.ts"
import { billingContract } from "./billing.contract.ts"
import { consoleSessionsContract, type TestClock } from "./console-sessions.contract.ts"
import { build, type ContractCase, type ImplementationLayer, servicesOver } from "./contract.ts"
import { credentialsContract } from "./credentials.contract.ts"
import { delayed } from "./delayed.ts"
import { memoryAccountLimits, memoryAccounts, memoryAuditLog, memoryBilling, memoryCredentials } from "./memory.ts"
import { providerRegistryContract } from "./provider-registry.contract.ts"
import { rateWindowsContract } from "./rate-windows.contract.ts"
import { storedResponsesContract } from "./stored-responses.contract.ts"
import { tokenCountingContract } from "./token-counting.contract.ts"

/** One implementation of every port, each as a Layer over the runtime's services. */
export interface Implementations {
  readonly accounts: ImplementationLayer<Accounts>
  readonly billing: ImplementationLayer<Ledger | UsageRecords>
  readonly credentials: ImplementationLayer<Credentials>
  readonly rateWindows: ImplementationLayer<RateWindows>
  readonly accountLimits: ImplementationLayer<AccountLimits>
  readonly consoleSessions: (clock: TestClock) => ImplementationLayer<ConsoleSessions>
  readonly storedResponses: ImplementationLayer<StoredResponses>
  readonly auditLog: ImplementationLayer<AuditLog>
  readonly tokenCounting: ImplementationLayer<TokenCounting>
  /** A registry holding `adapters`, in config order. */
  readonly providerRegistry: (adapters: ReadonlyArray<ProviderAdapter>) => ImplementationLayer<ProviderRegistry>
}

/** The relay's own implementations of every port, as each plugin provides them by default. */
const shipped: Implementations = {
  accounts: sqliteAccounts,
  billing: sqliteBilling,
  credentials: sqliteCredentials,
  rateWindows: memoryRateWindows,
  accountLimits: sqliteAccountLimits,
  consoleSessions: (clock: TestClock) =>
    memoryConsoleSessions({ ttlMs: 10_000, anonymousTtlMs: 1_000, maxSessions: 100, maxSignedOutPerAddress: 32, now: clock.now }),
  storedResponses: sqliteResponses,
  auditLog: sqliteAuditLog,
  tokenCounting: tokenizerCounting(),
  providerRegistry: providerRegistryLayer
}

const kit = { Effect, Layer }

/** The same implementations, each behind a delay (a stand-in for a store a network away). */
const delayedToo: Implementations = {
  accounts: delayed(kit, Accounts, shipped.accounts),
  billing: delayed(kit, Ledger, delayed(kit, UsageRecords, shipped.billing)),
  credentials: delayed(kit, Credentials, shipped.credentials),
  rateWindows: delayed(kit, RateWindows, shipped.rateWindows),
  accountLimits: delayed(kit, AccountLimits, shipped.accountLimits),
  consoleSessions: (clock: TestClock) => delayed(kit, ConsoleSessions, shipped.consoleSessions(clock)),
  storedResponses: delayed(kit, StoredResponses, shipped.storedResponses),
  auditLog: delayed(kit, AuditLog, shipped.auditLog),
  tokenCounting: delayed(kit, TokenCounting, shipped.tokenCounting),
  providerRegistry: (adapters) => delayed(kit, ProviderRegistry, shipped.providerRegistry(adapters))
}

/**
 * A registry as the relay combines those of several plugins (core's combinedRegistry), each
 * plugin's one adapter behind a delay.
 */
const combinedOfDelayed = (adapters: ReadonlyArray<ProviderAdapter>): ImplementationLayer<ProviderRegistry> =>
  Layer.effect(
    ProviderRegistry,
    Effect.flatMap(
      Effect.forEach(adapters, (adapter) => Effect.provide(ProviderRegistry, delayed(kit, ProviderRegistry, Layer.succeed(ProviderRegistry, providerRegistry([adapter]))))),
      combinedRegistry
    )
  )

/**
 * Stores written from the contracts alone, in memory, answering a moment later; rate windows,
 * console sessions and token counting ship in memory already, so those are the delayed shipped
 * ones, and the registry is the relay's combination of delayed ones.
 */
const independent = {
  accounts: memoryAccounts,
  billing: memoryBilling,
  credentials: memoryCredentials,
  rateWindows: delayedToo.rateWindows,
  accountLimits: memoryAccountLimits,
  consoleSessions: delayedToo.consoleSessions,
  storedResponses: delayedToo.storedResponses,
  auditLog: memoryAuditLog,
  tokenCounting: delayedToo.tokenCounting,
  providerRegistry: combinedOfDelayed
}

export const IMPLEMENTATIONS = { shipped, delayed: delayedToo, "in memory, delayed": independent } as const

export interface Suite {
  readonly name: string
  readonly cases: ReadonlyArray<ContractCase>
}

/** Every port's contract against one set of implementations, each case on a fresh store from `open`. */
export const portSuites = (implementations: Implementations, open: () => SqlShape): ReadonlyArray<Suite> => {
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
    { name: "AccountLimits", cases: accountLimitsContract(async () => build(AccountLimits, implementations.accountLimits, await fresh())) },
    { name: "RateWindows", cases: rateWindowsContract(async () => build(RateWindows, implementations.rateWindows, await fresh())) },
    { name: "AuditLog", cases: auditLogContract(async () => build(AuditLog, implementations.auditLog, await fresh())) },
    { name: "ConsoleSessions", cases: consoleSessionsContract(async (clock) => build(ConsoleSessions, implementations.consoleSessions(clock), await fresh())) },
    { name: "StoredResponses", cases: storedResponsesContract(async () => build(StoredResponses, implementations.storedResponses, await fresh())) },
    { name: "TokenCounting", cases: tokenCountingContract(async () => build(TokenCounting, implementations.tokenCounting, await fresh())) },
    {
      name: "ProviderRegistry",
      cases: providerRegistryContract(async (adapters) => build(ProviderRegistry, implementations.providerRegistry(adapters), await fresh()))
    }
  ]
}
