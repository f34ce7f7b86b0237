import { formatUsd, migratePg, type PgSchema, type SqlShape, type SqlValue } from "../core/index.ts"
import { connectPostgres, pgMigrationSql, pgTransaction } from "./postgres.ts"

/**
 * `relay store copy`: moves a single-node SQLite store into PostgreSQL, the step from one node
 * to several. Rows move as they are (keys as hashes, BYOK credentials still sealed), in one
 * PostgreSQL transaction that commits only once the copied totals match the store's.
 */

/** Money columns whose sums must match, beside every table's row count. */
const MONEY_SUMS: ReadonlyArray<readonly [table: string, column: string]> = [
  ["balances", "balance_nano"],
  ["ledger", "amount_nano"],
  ["usage_records", "cost_nano"]
]

/** Rows per INSERT: few enough to stay well under PostgreSQL's 65,535 parameters a statement. */
const BATCH_ROWS = 500

export interface StoreTotals {
  /** Rows per copied table. */
  readonly rows: Readonly<Record<string, number>>
  /** Nano-USD per money column, as `table.column`. */
  readonly money: Readonly<Record<string, bigint>>
}

export interface CopyResult {
  readonly source: StoreTotals
  readonly target: StoreTotals
}

/** The copy was refused or did not add up; nothing was committed. */
export class StoreCopyError extends Error {
  constructor(message: string, readonly totals?: CopyResult) {
    super(message)
  }
}

const quote = (name: string) => `"${name.replaceAll("\"", "\"\"")}"`

const sameTotals = (a: StoreTotals, b: StoreTotals) =>
  JSON.stringify(Object.entries(a.rows)) === JSON.stringify(Object.entries(b.rows)) &&
  Object.entries(a.money).every(([column, sum]) => b.money[column] === sum)

/** The store's tables in copy order; a table that no PostgreSQL schema holds stops the copy. */
const tablesToCopy = (source: SqlShape, schemas: ReadonlyArray<PgSchema>): Array<string> => {
  const known = schemas.flatMap((schema) => schema.tables)
  const present = source
    // The journal mark is the SQLite store's own bookkeeping (PostgreSQL billing has no journal).
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT IN ('schema_versions', 'charge_journal')")
    .all<{ name: string }>()
    .map((row) => row.name)
  const unknown = present.filter((table) => !known.includes(table))
  if (unknown.length > 0) throw new StoreCopyError(`the store has tables that this relay cannot keep in PostgreSQL: ${unknown.join(", ")}`)
  return known.filter((table) => present.includes(table))
}

const moneyColumns = (tables: ReadonlyArray<string>) => MONEY_SUMS.filter(([table]) => tables.includes(table))

const sourceTotals = (source: SqlShape, tables: ReadonlyArray<string>): StoreTotals => ({
  rows: Object.fromEntries(tables.map((table) => [table, source.prepare(`SELECT count(*) AS n FROM ${quote(table)}`).get<{ n: number }>()!.n])),
  money: Object.fromEntries(moneyColumns(tables).map(([table, column]) => [
    `${table}.${column}`,
    source.prepare(`SELECT COALESCE(SUM(${quote(column)}), 0) AS total FROM ${quote(table)}`, { bigints: true }).get<{ total: bigint }>()!.total
  ]))
})

type Transaction = ReturnType<typeof pgTransaction>

const targetTotals = async (tx: Transaction, tables: ReadonlyArray<string>): Promise<StoreTotals> => {
  const rows: Record<string, number> = {}
  for (const table of tables) rows[table] = (await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${quote(table)}`))[0]!.n
  const money: Record<string, bigint> = {}
  for (const [table, column] of moneyColumns(tables)) {
    // SUM of a BIGINT is NUMERIC, which the client reads as text: cast it back.
    money[`${table}.${column}`] = (await tx.query<{ total: bigint }>(`SELECT COALESCE(SUM(${quote(column)}), 0)::bigint AS total FROM ${quote(table)}`))[0]!.total
  }
  return { rows, money }
}

/** Copies one table's rows in batches, in rowid order, under the target's column names. */
const copyTable = async (source: SqlShape, tx: Transaction, table: string): Promise<void> => {
  const columns = source.prepare(`SELECT name FROM pragma_table_info(?)`).all<{ name: string }>(table).map((row) => row.name)
  const targetColumns = new Set(
    (await tx.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1",
      [table]
    )).map((row) => row.column_name)
  )
  const missing = columns.filter((column) => !targetColumns.has(column))
  if (missing.length > 0) throw new StoreCopyError(`the PostgreSQL table ${table} lacks the store's columns ${missing.join(", ")}`)

  // Integers read as bigint, so that money beyond 2^53 nano-USD moves exactly.
  const page = source.prepare(
    `SELECT rowid AS copy_rowid, ${columns.map(quote).join(", ")} FROM ${quote(table)} WHERE rowid > ? ORDER BY rowid LIMIT ${BATCH_ROWS}`,
    { bigints: true }
  )
  const names = columns.map(quote).join(", ")
  for (let after: SqlValue = -1n;;) {
    const batch: Array<Record<string, SqlValue>> = page.all(after)
    if (batch.length === 0) return
    const params = batch.flatMap((row) => columns.map((column) => row[column] ?? null))
    const tuples = batch.map((_, r) => `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(", ")})`)
    await tx.query(`INSERT INTO ${quote(table)} (${names}) VALUES ${tuples.join(", ")}`, params)
    after = batch.at(-1)!.copy_rowid!
  }
}

/** Identity columns continue after the copied ids, so new rows never collide with them. */
const advanceIdentities = async (tx: Transaction, tables: ReadonlyArray<string>) => {
  const identities = await tx.query<{ table_name: string; column_name: string }>(
    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES'"
  )
  for (const { table_name: table, column_name: column } of identities.filter((row) => tables.includes(row.table_name))) {
    await tx.query(
      `SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(MAX(${quote(column)}), 0) + 1, false) FROM ${quote(table)}`,
      [quote(table), column]
    )
  }
}

/**
 * Copies `source` into the PostgreSQL database at `url`: migrates its schema, refuses a
 * database whose relay tables hold rows (unless `replace`, which empties them first), copies
 * every table from one snapshot of the store, and commits only if row counts and money sums
 * match the store's.
 */
export const copyStore = async (
  source: SqlShape,
  url: string,
  schemas: ReadonlyArray<PgSchema>,
  options: { readonly replace: boolean }
): Promise<CopyResult> => {
  const target = connectPostgres(url)
  // One read transaction: every table is read from the same moment of the store.
  source.exec("BEGIN")
  try {
    const tables = tablesToCopy(source, schemas)
    const expected = sourceTotals(source, tables)
    await migratePg(pgMigrationSql(target), schemas)
    return await target.begin(async (transaction) => {
      const tx = pgTransaction(transaction)
      const all = schemas.flatMap((schema) => schema.tables)
      if (options.replace) {
        await tx.exec(`TRUNCATE ${all.map(quote).join(", ")} RESTART IDENTITY`)
      } else {
        const held = (await targetTotals(tx, all)).rows
        const occupied = all.filter((table) => held[table]! > 0)
        if (occupied.length > 0) {
          throw new StoreCopyError(
            `the target database already holds rows in ${occupied.join(", ")}: copy into an empty database, or pass --replace to empty those tables first`
          )
        }
      }
      for (const table of tables) await copyTable(source, tx, table)
      await advanceIdentities(tx, tables)
      const copied = { source: expected, target: await targetTotals(tx, tables) }
      if (!sameTotals(copied.source, copied.target)) {
        throw new StoreCopyError("the copied totals differ from the store's; nothing was committed", copied)
      }
      return copied
    }) as CopyResult
  } finally {
    source.exec("COMMIT")
    await target.end({ timeout: 5 })
  }
}

/** The database's address without its password, to print. */
export const displayUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    if (parsed.password !== "") parsed.password = "***"
    return parsed.toString()
  } catch {
    return "the given database"
  }
}

/** Totals as a table for people: rows per table, then money in USD and nano-USD. */
export const totalsText = ({ source, target }: CopyResult): string => {
  const lines: Array<[string, string, string]> = [["", "STORE", "POSTGRESQL"]]
  for (const table of Object.keys(source.rows)) lines.push([`${table} rows`, String(source.rows[table]), String(target.rows[table] ?? "-")])
  for (const column of Object.keys(source.money)) {
    const usd = (nano: bigint | undefined) => (nano === undefined ? "-" : `${formatUsd(nano)} USD`)
    lines.push([`sum of ${column}`, usd(source.money[column]), usd(target.money[column])])
  }
  const widths = [0, 1, 2].map((i) => Math.max(...lines.map((line) => line[i]!.length)))
  return lines.map((line) => line.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n")
}
