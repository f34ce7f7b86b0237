import { Schema } from "effect"
import {
  formatUsd,
  InvalidRequest,
  type KeyRestrictions,
  type KeyUpdate,
  type Limits,
  modelAllowed,
  parseUsd,
  strictBodyDecoder,
  USD_AMOUNT_RULE
} from "../../core/index.ts"
import { applyChanges } from "./rows.ts"

/*
 * A key's restrictions as the admin API, the account API, the console and the command line
 * take them (SPEC section 15), checked by one set of rules for every door.
 */

const MAX_MODELS = 100
const MAX_MODEL_CHARS = 200
const MAX_METADATA_BYTES = 4_096
const NAME_MAX_CHARS = 200

const Limit = Schema.NullOr(Schema.Int.check(Schema.isGreaterThan(0)))

/** The fields of a key's name and restrictions, as JSON carries them. */
export const KEY_FIELDS = {
  name: Schema.optional(Schema.NullOr(Schema.String)),
  spend_limit: Schema.optional(Schema.NullOr(Schema.Union([Schema.String, Schema.Number]))),
  spend_period: Schema.optional(Schema.NullOr(Schema.Literals(["day", "week", "month"]))),
  models: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))),
  expires_at: Schema.optional(Schema.NullOr(Schema.String)),
  rpm: Schema.optional(Limit),
  tpm: Schema.optional(Limit),
  metadata: Schema.optional(Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown)))
}

export const decodeKeyFields = strictBodyDecoder(Schema.Struct(KEY_FIELDS))

export type KeyFields = Exclude<ReturnType<typeof decodeKeyFields>, InvalidRequest>

/** A key's name and restrictions from a request body, checked (the same for every door). */
export const keyChanges = (body: unknown): KeyUpdate | InvalidRequest => {
  const fields = decodeKeyFields(body)
  return fields instanceof InvalidRequest ? fields : keyUpdateOf(fields)
}

const invalid = (param: string, message: string) => new InvalidRequest({ message: `${param}: ${message}`, param })

/**
 * The decoded fields as a key update, each checked: a limit in USD within the money limit, a
 * model list of ids and `*` globs, an RFC 3339 expiry, metadata of at most 4 KiB. A field left
 * out is left as it is; `null` clears it.
 */
export const keyUpdateOf = (fields: KeyFields): KeyUpdate | InvalidRequest => {
  const update: { -readonly [F in keyof KeyUpdate]: KeyUpdate[F] } = {}
  if (fields.name !== undefined) {
    const name = fields.name === null ? null : fields.name.trim()
    if (name !== null && name.length > NAME_MAX_CHARS) return invalid("name", `expected at most ${NAME_MAX_CHARS} characters`)
    update.name = name === "" ? null : name
  }
  if (fields.spend_limit !== undefined) {
    const nano = fields.spend_limit === null ? null : parseUsd(fields.spend_limit)
    if (nano === undefined || (nano !== null && nano < 0n)) return invalid("spend_limit", `${USD_AMOUNT_RULE}, not negative`)
    update.spendLimit = nano
  }
  if (fields.spend_period !== undefined) update.spendPeriod = fields.spend_period
  if (fields.models !== undefined) {
    const models = fields.models
    if (models !== null && (models.length === 0 || models.length > MAX_MODELS)) return invalid("models", `expected 1 to ${MAX_MODELS} model ids or globs, or null for every model`)
    if (models?.some((m) => m.trim() === "" || m.length > MAX_MODEL_CHARS || m !== m.trim())) {
      return invalid("models", `each entry is a model id or a glob such as "claude-*", of 1 to ${MAX_MODEL_CHARS} characters`)
    }
    update.models = models === null ? null : [...new Set(models)]
  }
  if (fields.expires_at !== undefined) {
    const at = fields.expires_at === null ? null : Date.parse(fields.expires_at)
    if (at !== null && (!/^\d{4}-\d{2}-\d{2}T/.test(fields.expires_at!) || Number.isNaN(at))) return invalid("expires_at", "expected an RFC 3339 time such as 2026-12-31T23:59:59Z")
    update.expiresAt = at
  }
  if (fields.rpm !== undefined) update.rpm = fields.rpm
  if (fields.tpm !== undefined) update.tpm = fields.tpm
  if (fields.metadata !== undefined) {
    if (fields.metadata !== null && new TextEncoder().encode(JSON.stringify(fields.metadata)).length > MAX_METADATA_BYTES) {
      return invalid("metadata", `expected a JSON object of at most ${MAX_METADATA_BYTES} bytes`)
    }
    update.metadata = fields.metadata
  }
  return update
}

/** A key's own rpm and tpm may not exceed its account's. */
export const withinAccount = (restrictions: KeyRestrictions, limits: Limits): InvalidRequest | undefined => {
  if (restrictions.rpm !== null && restrictions.rpm > limits.rpm) return invalid("rpm", `at most the account's ${limits.rpm} requests per minute`)
  if (restrictions.tpm !== null && restrictions.tpm > limits.tpm) return invalid("tpm", `at most the account's ${limits.tpm} tokens per minute`)
  return undefined
}

/**
 * The restrictions of a key a user makes with `parent`, the key they call with: each field the
 * request leaves out takes the parent's value, and one wider than the parent's is refused, so
 * the new key can do nothing the parent cannot.
 */
export const narrowerThan = (parent: KeyRestrictions, update: KeyUpdate): KeyRestrictions | InvalidRequest => {
  const child = applyChanges(parent, update)
  if (parent.spendLimit !== null) {
    if (child.spendLimit === null || child.spendLimit > parent.spendLimit) return invalid("spend_limit", `at most this key's own limit of $${formatUsd(parent.spendLimit)}`)
    if (child.spendPeriod !== parent.spendPeriod) return invalid("spend_period", `the same period as this key's own limit (${parent.spendPeriod ?? "lifetime, null"})`)
  }
  if (parent.models !== null && (child.models === null || !child.models.every((model) => modelAllowed(parent.models, model)))) {
    return invalid("models", `only models this key may call itself: ${parent.models.join(", ")}`)
  }
  if (parent.expiresAt !== null && (child.expiresAt === null || child.expiresAt > parent.expiresAt)) {
    return invalid("expires_at", `no later than this key's own expiry, ${new Date(parent.expiresAt).toISOString()}`)
  }
  if (parent.rpm !== null && (child.rpm === null || child.rpm > parent.rpm)) return invalid("rpm", `at most this key's own ${parent.rpm}`)
  if (parent.tpm !== null && (child.tpm === null || child.tpm > parent.tpm)) return invalid("tpm", `at most this key's own ${parent.tpm}`)
  return child
}

/** A key's restrictions as the APIs show them. */
export const restrictionsView = (r: KeyRestrictions) => ({
  spend_limit: r.spendLimit === null ? null : formatUsd(r.spendLimit),
  spend_period: r.spendPeriod,
  models: r.models,
  expires_at: r.expiresAt === null ? null : new Date(r.expiresAt).toISOString(),
  rpm: r.rpm,
  tpm: r.tpm,
  metadata: r.metadata
})
