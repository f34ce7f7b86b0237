import { Context, Effect, Option } from "effect"
import pino from "pino"
import { PG_SCHEMAS } from "../config/index.ts"
import {
  AccountDirectory,
  accountView,
  AuditTrail,
  Balances,
  CredentialVault,
  formatUsd,
  keptDetails,
  type KeyInfo,
  type KeyUpdate,
  type ManagementServices,
  parseUsd,
  type ProvidedContext,
  type RelayError,
  requireAccount,
  type SqlShape,
  StoreHealthState,
  USD_AMOUNT_RULE
} from "../core/index.ts"
import { logLevel, relayLog } from "./log.ts"
import { loadSetup } from "./start.ts"
import { chargeJournalHolds } from "./charge-journal.ts"
import { openNodeStore } from "./node-store.ts"
import { setupPlugins } from "./relay.ts"
import { holdServeLock } from "./serve-lock.ts"
import { copyStore, displayUrl, StoreCopyError, totalsText } from "./store-copy.ts"

/**
 * What the `relay` store commands do: each sets the config's plugins up on the local store
 * (without serving or starting anything) and calls the same operations as the admin API.
 * Loaded only when such a command runs, so `--help` and argument errors answer at once.
 */

/** A command line as parsed: its positional arguments and its options. */
export interface Parsed {
  readonly positionals: ReadonlyArray<string>
  readonly options: Readonly<Record<string, string | true>>
}

/** How a command ended: the exit code and what to print. */
export interface Result {
  readonly code: 0 | 1 | 2
  readonly stdout?: string
  readonly stderr?: string
}

/** A refused argument value: exit 2, like a malformed command line. */
class BadArgument extends Error {}

/** What a command prints: JSON with `--json`, else text for people. */
interface Output {
  readonly json: unknown
  readonly text: string
}

/** A plugin's refusal as the command's failure: a refused value (400) is a bad argument. */
const fail = (error: RelayError): never => {
  throw error.status === 400 ? new BadArgument(error.message) : new Error(error.message)
}

/** The services the config's plugins provide, as a command uses them. */
interface Manage {
  /** Runs an operation on them; a refusal is the command's failure. */
  readonly run: <A, E extends RelayError>(effect: Effect.Effect<A, E, ManagementServices>) => Promise<A>
  /** A service the command cannot do without, named by what its plugin does. */
  readonly need: <I, S>(key: Context.Key<I, S>, what: string) => S
  /** The audit log, when a plugin keeps one. */
  readonly audit: AuditTrail["Service"] | undefined
}

const manageOn = (services: ProvidedContext): Manage => ({
  run: (effect) =>
    Effect.runPromise(Effect.provideContext(Effect.result(effect), services as Context.Context<ManagementServices>)).then((result) =>
      result._tag === "Success" ? result.success : fail(result.failure)),
  need: (key, what) => {
    const service = Context.getOption(services as Context.Context<never>, key)
    if (Option.isNone(service)) throw new Error(`this relay's config has no plugin that ${what}`)
    return service.value
  },
  audit: Option.getOrUndefined(Context.getOption(services as Context.Context<ManagementServices>, AuditTrail))
})

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

interface AccountJson {
  readonly id: string
  readonly name: string
  readonly tier: string
  readonly balance?: string
  readonly limits?: { readonly rpm: number | null; readonly tpm: number | null }
}

const accountText = (view: AccountJson): string => {
  const pairs = [["id", view.id], ["name", view.name], ["tier", view.tier], ["balance", view.balance], ["rpm", view.limits?.rpm], ["tpm", view.limits?.tpm]] as const
  return pairs.map(([name, value]) => `${name.padEnd(7)}  ${value ?? "-"}`).join("\n")
}

const viewOf = (manage: Manage, account: Parameters<typeof accountView>[0]) => manage.run(accountView(account)) as Promise<unknown> as Promise<AccountJson>

const option = (args: Parsed, name: string): string | undefined => {
  const value = args.options[name]
  return typeof value === "string" ? value : undefined
}

/** The local store a command works on. */
interface Store {
  readonly sql: SqlShape
  readonly path: string
}

/** A key's restriction options as the admin API's fields ("none" clears one). */
const restrictionFields = (args: Parsed): Record<string, unknown> => {
  const fields: Record<string, unknown> = {}
  const value = (name: string) => {
    const text = option(args, name)
    return text === undefined ? undefined : text === "none" ? null : text
  }
  const set = (field: string, given: unknown) => {
    if (given !== undefined) fields[field] = given
  }
  set("name", value("name"))
  set("spend_limit", value("spend-limit"))
  set("spend_period", value("spend-period"))
  const models = value("models")
  set("models", models === undefined || models === null ? models : models.split(",").map((m) => m.trim()))
  set("expires_at", value("expires-at"))
  for (const name of ["rpm", "tpm"]) {
    const given = value(name)
    set(name, given === undefined || given === null ? given : /^\d{1,12}$/.test(given) ? Number(given) : given)
  }
  return fields
}

/** A key's name and restrictions from the options, by the account directory's rules; a refusal names the option. */
const changesOf = (args: Parsed, manage: Manage): KeyUpdate => {
  const changes = manage.need(AccountDirectory, "keeps accounts").keyChanges(restrictionFields(args))
  if (changes instanceof Error) throw new BadArgument(changes.message.replace(/^(\w+):/, (_, field: string) => `--${field.replace("_", "-")}:`))
  return changes
}

const keyText = (key: KeyInfo): string => {
  const limits = [
    key.spend_limit === null ? undefined : `spend ${key.spend_limit} USD per ${key.spend_period ?? "lifetime"}`,
    key.models === null ? undefined : `models ${key.models.join(",")}`,
    key.expires_at === null ? undefined : `expires ${key.expires_at}`,
    key.rpm === null ? undefined : `rpm ${key.rpm}`,
    key.tpm === null ? undefined : `tpm ${key.tpm}`
  ].filter((part) => part !== undefined)
  return limits.length === 0 ? "no restrictions" : limits.join("; ")
}

const COMMANDS = {
  "accounts create": async (args: Parsed, manage: Manage): Promise<Output> => {
    const account = await manage.run(manage.need(AccountDirectory, "keeps accounts").create(args.positionals[0]!, option(args, "tier")))
    const view = await viewOf(manage, account)
    return { json: view, text: `Created account ${view.id}.\n${accountText(view)}` }
  },

  "accounts list": async (_args: Parsed, manage: Manage): Promise<Output> => {
    const accounts = await manage.run(manage.need(AccountDirectory, "keeps accounts").list())
    const views = await Promise.all(accounts.map((account) => viewOf(manage, account)))
    return {
      json: { data: views },
      text: views.length === 0 ? "No accounts." : table(
        ["ID", "NAME", "TIER", "BALANCE", "RPM", "TPM"],
        views.map((v) => [v.id, v.name, v.tier, v.balance ?? "-", String(v.limits?.rpm ?? "-"), String(v.limits?.tpm ?? "-")])
      )
    }
  },

  "accounts show": async (args: Parsed, manage: Manage): Promise<Output> => {
    const view = await viewOf(manage, await manage.run(requireAccount(args.positionals[0]!)))
    return { json: view, text: accountText(view) }
  },

  "accounts suspend": async (args: Parsed, manage: Manage): Promise<Output> => {
    const account = await manage.run(manage.need(AccountDirectory, "keeps accounts").suspend(args.positionals[0]!, true))
    return { json: await viewOf(manage, account), text: `Suspended account ${account.id}: its keys are refused until it is resumed.` }
  },

  "accounts resume": async (args: Parsed, manage: Manage): Promise<Output> => {
    const account = await manage.run(manage.need(AccountDirectory, "keeps accounts").suspend(args.positionals[0]!, false))
    return { json: await viewOf(manage, account), text: `Resumed account ${account.id}.` }
  },

  "accounts delete": async (args: Parsed, manage: Manage): Promise<Output> => {
    const id = args.positionals[0]!
    if (option(args, "confirm") !== id) throw new BadArgument(`deleting an account revokes all its keys; repeat its id as --confirm ${id}`)
    if (!(await manage.run(manage.need(AccountDirectory, "keeps accounts").remove(id)))) throw new Error(`no account ${id}`)
    return { json: { id, deleted: true }, text: `Deleted account ${id}; its keys are revoked, its usage and ledger kept.` }
  },

  "keys create": async (args: Parsed, manage: Manage): Promise<Output> => {
    const changes = changesOf(args, manage)
    const issued = await manage.run(manage.need(AccountDirectory, "keeps accounts").issueKey(args.positionals[0]!, changes.name ?? null, changes))
    return {
      json: { ...issued.info, key: issued.key },
      text: `Created key ${issued.info.id} for ${issued.info.account_id} (${keyText(issued.info)}). It is shown this once; store it now:\n\n  ${issued.key}\n`
    }
  },

  "keys update": async (args: Parsed, manage: Manage): Promise<Output> => {
    const key = await manage.run(manage.need(AccountDirectory, "keeps accounts").updateKey(args.positionals[0]!, changesOf(args, manage)))
    return { json: key, text: `Updated key ${key.id}: ${keyText(key)}.` }
  },

  "keys list": async (args: Parsed, manage: Manage): Promise<Output> => {
    const keys = await manage.run(manage.need(AccountDirectory, "keeps accounts").keys(args.positionals[0]!))
    return {
      json: { data: keys },
      text: keys.length === 0 ? "No keys." : table(
        ["ID", "NAME", "PREFIX", "CREATED", "REVOKED"],
        keys.map((k) => [k.id, k.name ?? "-", k.prefix, k.created_at, k.revoked_at ?? "-"])
      )
    }
  },

  "keys revoke": async (args: Parsed, manage: Manage): Promise<Output> => {
    const id = args.positionals[0]!
    const accountId = await manage.run(manage.need(AccountDirectory, "keeps accounts").revokeKey(id))
    if (accountId === undefined) throw new Error(`no active key ${id}`)
    return { json: { id, account_id: accountId, revoked: true }, text: `Revoked key ${id}.` }
  },

  "credits add": async (args: Parsed, manage: Manage): Promise<Output> => {
    const amount = parseUsd(args.positionals[1])
    if (amount === undefined) throw new BadArgument(`amount: ${USD_AMOUNT_RULE}; got "${args.positionals[1]}"`)
    const balances = manage.need(Balances, "keeps balances")
    const account = await manage.run(requireAccount(args.positionals[0]!))
    await manage.run(balances.credit(account.id, amount, option(args, "note") ?? null))
    const view = await viewOf(manage, account)
    return { json: view, text: `Added ${formatUsd(amount)} USD to ${account.id}; the balance is ${view.balance}.` }
  },

  "vault rotate": async (_args: Parsed, manage: Manage): Promise<Output> => {
    const result = await manage.run(manage.need(CredentialVault, "stores BYOK credentials").rotate())
    const source = result.generated ? "a new master key in the data directory" : "the current RELAY_MASTER_KEY"
    return { json: result, text: `Re-sealed ${result.resealed} credential(s) under ${source} (${result.key_id}).` }
  },

  "store copy": async (args: Parsed, _manage: Manage, store: Store): Promise<Output> => {
    const url = option(args, "to")
    if (url === undefined) throw new BadArgument("--to URL is required: the PostgreSQL database to copy into")
    if (!/^postgres(?:ql)?:\/\//.test(url)) throw new BadArgument(`--to must be a postgres:// URL, got "${displayUrl(url)}"`)
    // Held through the copy: a relay serving meanwhile would write what the copy misses.
    const lock = holdServeLock(openNodeStore, store.path)
    try {
      if (chargeJournalHolds(store.path)) {
        throw new Error("the charge journal beside the store holds charges the store may not have yet (the relay did not stop cleanly): start the relay and stop it, which writes them, then copy")
      }
      const copied = await copyStore(store.sql, url, PG_SCHEMAS, { replace: args.options.replace === true })
      const json = JSON.parse(JSON.stringify(copied, (_key, value) => (typeof value === "bigint" ? String(value) : value)))
      return { json: { to: displayUrl(url), ...json }, text: `Copied ${store.path} into ${displayUrl(url)}; the totals match.\n\n${totalsText(copied)}` }
    } catch (error) {
      if (error instanceof StoreCopyError && error.totals !== undefined) throw new Error(`${error.message}\n\n${totalsText(error.totals)}`)
      throw error
    } finally {
      lock.release()
    }
  }
}

export type StoreCommand = keyof typeof COMMANDS

/** The commands that change state: each leaves an entry in the audit log. */
const CHANGES_STATE: ReadonlySet<StoreCommand> = new Set([
  "accounts create",
  "accounts suspend",
  "accounts resume",
  "accounts delete",
  "keys create",
  "keys update",
  "keys revoke",
  "credits add",
  "vault rotate"
])

/** A command's audit entry: who is the operator at the machine, what the command and its fields. */
const cliEntry = (name: StoreCommand, args: Parsed, json: unknown) => {
  const answer = (json ?? {}) as { readonly id?: unknown; readonly account_id?: unknown }
  const ids = [...args.positionals, answer.id, answer.account_id].filter((id): id is string => typeof id === "string")
  const fields: Record<string, unknown> = { ...restrictionFields(args), note: option(args, "note") }
  if (name === "credits add") fields.amount = args.positionals[1]
  if (name === "accounts create") Object.assign(fields, { name: args.positionals[0], tier: option(args, "tier") })
  return {
    at: Date.now(),
    actor: { kind: "cli" } as const,
    action: `relay ${name}`,
    accountId: ids.find((id) => id.startsWith("acct_")) ?? null,
    target: ids.find((id) => id.startsWith("key_")) ?? null,
    details: keptDetails(Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined))),
    requestId: null
  }
}

/**
 * Runs a store command in `env` (the process environment with the command's options applied).
 * Every failure is a message, never a stack: 2 for a refused argument, 1 for the rest.
 */
export const runStoreCommand = async (name: StoreCommand, args: Parsed, env: Readonly<Record<string, string | undefined>>): Promise<Result> => {
  try {
    const { config, keyring } = await loadSetup(env)
    const sql = openNodeStore(config.storePath)
    const log = relayLog(logLevel(env.LOG_LEVEL, "warn"), pino.destination(2))
    const plugins = await setupPlugins(config, {
      sql,
      log,
      http: { send: () => ({ response: Promise.reject(new Error("the command line calls no upstream")), abort: () => undefined }) },
      operator: { notice: (text) => void process.stderr.write(`${text}\n`) },
      keyring,
      storeHealth: new StoreHealthState()
    })
    try {
      const manage = manageOn(plugins.services)
      const output = await COMMANDS[name](args, manage, { sql, path: config.storePath })
      if (CHANGES_STATE.has(name) && manage.audit !== undefined) await Effect.runPromise(manage.audit.record(cliEntry(name, args, output.json)))
      return { code: 0, stdout: args.options.json === true ? JSON.stringify(output.json, null, 2) : output.text }
    } finally {
      // As when the relay closes: what the plugins hold back (charges batched to be written
      // together) is written before the store closes.
      await plugins.stop()
      sql.close()
    }
  } catch (error) {
    return { code: error instanceof BadArgument ? 2 : 1, stderr: `relay ${name}: ${error instanceof Error ? error.message : String(error)}` }
  }
}
