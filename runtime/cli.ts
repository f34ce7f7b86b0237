import type { Parsed, StoreCommand } from "./cli-store.ts"

/**
 * The `relay` command: `relay serve` starts the relay; the other commands manage accounts,
 * keys, credits and the BYOK vault on the local store (RELAY_DATA_DIR, RELAY_CONFIG) without a
 * running relay. This module reads the command line and answers help and usage errors; the
 * commands themselves load only when they run. Exit codes: 0 done, 1 failed, 2 bad arguments.
 */

interface Option {
  readonly name: string
  /** Placeholder of the option's value; a flag when absent. */
  readonly value?: string
  readonly description: string
}

interface Command {
  /** Words after `relay`, such as `accounts create`. */
  readonly name: StoreCommand | "serve"
  readonly summary: string
  readonly positionals: ReadonlyArray<{ readonly name: string; readonly description: string }>
  readonly options: ReadonlyArray<Option>
}

/** A mistake in the command line itself: exit 2, with the command's usage. */
class UsageError extends Error {}

const CONFIG: Option = { name: "config", value: "PATH", description: "Config file (default: RELAY_CONFIG, else ./relay.config.ts)" }
const DATA_DIR: Option = { name: "data-dir", value: "DIR", description: "Data directory (default: RELAY_DATA_DIR, else ./data)" }
const JSON_OUTPUT: Option = { name: "json", description: "Print machine-readable JSON" }
const HELP: Option = { name: "help", description: "Show this help" }
const ACCOUNT_ID = { name: "account-id", description: "The account's id (acct_...)" }
const KEY_ID = { name: "key-id", description: "The key's id (key_...)" }
/** A key's restrictions (SPEC section 15), the same on create and update; "none" clears one on update. */
const RESTRICTIONS: ReadonlyArray<Option> = [
  { name: "spend-limit", value: "USD", description: "Spend limit of the key, such as 5.00" },
  { name: "spend-period", value: "PERIOD", description: "day, week or month (UTC) the limit resets; lifetime when not given" },
  { name: "models", value: "LIST", description: "Comma-separated model ids or globs the key may call, such as gpt-4o-mini,claude-*" },
  { name: "expires-at", value: "TIME", description: "When the key stops working, RFC 3339 (2026-12-31T23:59:59Z)" },
  { name: "rpm", value: "N", description: "The key's own requests per minute, within its account's" },
  { name: "tpm", value: "N", description: "The key's own tokens per minute, within its account's" }
]

const COMMANDS: ReadonlyArray<Command> = [
  {
    name: "serve",
    summary: "Start the relay, as npm start does",
    positionals: [],
    options: [
      CONFIG,
      DATA_DIR,
      { name: "host", value: "HOST", description: "Listen address (default: HOST, else the config's)" },
      { name: "port", value: "PORT", description: "Listen port (default: PORT, else the config's)" }
    ]
  },
  {
    name: "accounts create",
    summary: "Open an account",
    positionals: [{ name: "name", description: "The account's name (1 to 200 characters)" }],
    options: [{ name: "tier", value: "TIER", description: "Its rate-limit tier (default: the config's default tier)" }]
  },
  { name: "accounts list", summary: "List every account", positionals: [], options: [] },
  { name: "accounts show", summary: "Show one account: tier, limits and balance", positionals: [ACCOUNT_ID], options: [] },
  { name: "accounts suspend", summary: "Suspend an account: every key of it is refused (403) until it is resumed", positionals: [ACCOUNT_ID], options: [] },
  { name: "accounts resume", summary: "Resume a suspended account", positionals: [ACCOUNT_ID], options: [] },
  {
    name: "accounts delete",
    summary: "Delete an account: its keys revoked, its usage and ledger kept",
    positionals: [ACCOUNT_ID],
    options: [{ name: "confirm", value: "ACCOUNT-ID", description: "The account's id again: deletion cannot be undone" }]
  },
  {
    name: "keys create",
    summary: "Issue an API key for an account; it is printed this once",
    positionals: [ACCOUNT_ID],
    options: [{ name: "name", value: "NAME", description: "A name to tell the key apart" }, ...RESTRICTIONS]
  },
  {
    name: "keys update",
    summary: "Change a key's name or restrictions; \"none\" clears a restriction",
    positionals: [KEY_ID],
    options: [{ name: "name", value: "NAME", description: "A name to tell the key apart" }, ...RESTRICTIONS]
  },
  { name: "keys list", summary: "List an account's keys (never the keys themselves)", positionals: [ACCOUNT_ID], options: [] },
  {
    name: "keys revoke",
    summary: "Revoke a key; a running relay stops accepting it within a second",
    positionals: [{ name: "key-id", description: "The key's id (key_...)" }],
    options: []
  },
  {
    name: "credits add",
    summary: "Add credit to an account's balance (negative for a correction)",
    positionals: [ACCOUNT_ID, { name: "amount", description: "USD, such as 5.00 or -1.25 (at most 9 decimals)" }],
    options: [{ name: "note", value: "TEXT", description: "Why, kept in the ledger (at most 500 characters)" }]
  },
  {
    name: "vault rotate",
    summary: "Re-seal every BYOK credential under a new master key (stop the relay first)",
    positionals: [],
    options: []
  },
  {
    name: "store copy",
    summary: "Copy the store into PostgreSQL, for several nodes, and check the totals (stop the relay first)",
    positionals: [],
    options: [
      { name: "to", value: "URL", description: "The PostgreSQL database, postgres://user:password@host:port/database (required)" },
      { name: "replace", description: "Empty the database's relay tables first, instead of refusing one that holds rows" }
    ]
  }
]

const GROUPS = new Set(COMMANDS.map((c) => c.name.split(" ")[0]!))

const optionsOf = (command: Command): ReadonlyArray<Option> =>
  command.name === "serve" ? [...command.options, HELP] : [...command.options, JSON_OUTPUT, CONFIG, DATA_DIR, HELP]

const usageLine = (command: Command) => {
  const args = command.positionals.map((p) => `<${p.name}>`).join(" ")
  return `relay ${command.name}${args ? ` ${args}` : ""} [options]`
}

const columns = (rows: ReadonlyArray<readonly [string, string]>) => {
  const width = Math.max(...rows.map(([left]) => left.length))
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`)
}

const commandHelp = (command: Command): string =>
  [
    `${command.summary}.`,
    "",
    `Usage: ${usageLine(command)}`,
    "",
    ...columns([
      ...command.positionals.map((p) => [`<${p.name}>`, p.description] as const),
      ...optionsOf(command).map((o) => [`--${o.name}${o.value ? ` ${o.value}` : ""}`, o.description] as const)
    ])
  ].join("\n")

const mainHelp = (group?: string): string =>
  [
    "Rocket Relay: a self-hosted LLM relay.",
    "",
    `Usage: relay ${group === undefined ? "<command>" : `${group} <command>`} [options]`,
    "",
    "Commands:",
    ...columns(COMMANDS.filter((c) => group === undefined || c.name.startsWith(`${group} `)).map((c) => [usageLine(c), c.summary] as const)),
    "",
    "Every command but serve works on the local store, with or without a running relay (store copy: without).",
    "Run \"relay <command> --help\" for a command's options. Exit codes: 0 done, 1 failed, 2 bad arguments."
  ].join("\n")

/** Options and positionals; a token like `-1.25` is a (negative) value, not an option. */
const parseArgs = (command: Command, argv: ReadonlyArray<string>): Parsed => {
  const known = new Map(optionsOf(command).map((o) => [o.name, o]))
  const positionals: Array<string> = []
  const options: Record<string, string | true> = {}
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if (token === "--") {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (token === "-h") {
      options.help = true
      continue
    }
    if (!token.startsWith("--")) {
      if (token.startsWith("-") && !/^-\d/.test(token)) throw new UsageError(`unknown option ${token}`)
      positionals.push(token)
      continue
    }
    const [name, inline] = token.slice(2).split(/=(.*)/s, 2) as [string, string | undefined]
    const option = known.get(name)
    if (option === undefined) throw new UsageError(`unknown option --${name}`)
    if (option.value === undefined) {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`)
      options[name] = true
      continue
    }
    const value = inline ?? argv[++i]
    if (value === undefined || value === "") throw new UsageError(`--${name} needs a value (${option.value})`)
    options[name] = value
  }
  if (options.help !== true) {
    const expected = command.positionals.length
    if (positionals.length < expected) throw new UsageError(`missing <${command.positionals[positionals.length]!.name}>`)
    if (positionals.length > expected) throw new UsageError(`unexpected argument "${positionals[expected]}"`)
    if (typeof options.port === "string" && !/^\d{1,5}$/.test(options.port)) {
      throw new UsageError(`--port must be a port number, got "${options.port}"`)
    }
  }
  return { positionals, options }
}

/** The environment a command works in: its options win over the variables. */
const environmentOf = (options: Parsed["options"]): Record<string, string | undefined> => {
  const env: Record<string, string | undefined> = { ...process.env }
  for (const [option, variable] of [["config", "RELAY_CONFIG"], ["data-dir", "RELAY_DATA_DIR"], ["host", "HOST"], ["port", "PORT"]] as const) {
    const value = options[option]
    if (typeof value === "string") env[variable] = value
  }
  return env
}

const isHelp = (token: string | undefined) => token === "--help" || token === "-h"

const out = (text: string) => void process.stdout.write(`${text}\n`)
const err = (text: string) => void process.stderr.write(`${text}\n`)

/** Runs the command line; answers the exit code, or "serving" once the relay runs. */
const main = async (argv: ReadonlyArray<string>): Promise<number | "serving"> => {
  const [first, second] = argv
  if (first === "help" || isHelp(first)) {
    out(mainHelp())
    return 0
  }
  if (first === undefined) {
    err(mainHelp())
    return 2
  }
  const command = COMMANDS.find((c) => c.name === first) ?? COMMANDS.find((c) => c.name === `${first} ${second}`)
  if (command === undefined) {
    const group = GROUPS.has(first) ? first : undefined
    if (group !== undefined && isHelp(second)) {
      out(mainHelp(group))
      return 0
    }
    const problem = group === undefined
      ? `relay: unknown command "${first}"`
      : second === undefined
      ? `relay ${group}: missing command`
      : `relay ${group}: unknown command "${second}"`
    err(`${problem}\n\n${mainHelp(group)}`)
    return 2
  }

  let args: Parsed
  try {
    args = parseArgs(command, argv.slice(command.name.split(" ").length))
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    err(`relay ${command.name}: ${error.message}\nUsage: ${usageLine(command)}\nRun "relay ${command.name} --help" for its options.`)
    return 2
  }
  if (args.options.help === true) {
    out(commandHelp(command))
    return 0
  }

  if (command.name === "serve") {
    Object.assign(process.env, environmentOf(args.options))
    await import("./node.ts")
    return "serving"
  }
  const { runStoreCommand } = await import("./cli-store.ts")
  const result = await runStoreCommand(command.name, args, environmentOf(args.options))
  if (result.stdout !== undefined) out(result.stdout)
  if (result.stderr !== undefined) err(result.stderr)
  return result.code
}

const code = await main(process.argv.slice(2))
if (code !== "serving") process.exitCode = code
