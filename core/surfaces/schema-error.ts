import { Result, Schema, SchemaIssue } from "effect"
import type { SchemaError } from "effect/Schema"
import { InvalidRequest } from "../errors.ts"

const format = SchemaIssue.makeFormatterStandardSchemaV1()

/** `messages[0].role` from `["messages", 0, "role"]`. */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (out, key) => (typeof key === "number" ? `${out}[${key}]` : out === "" ? String(key) : `${out}.${String(key)}`),
    ""
  )

/** The first offending path of a schema failure (`""` for the root) and what was expected there. */
export const describeSchemaError = (error: SchemaError): { readonly path: string; readonly message: string } => {
  const issue = format(error.issue).issues[0]
  if (issue === undefined) return { path: "", message: "invalid value" }
  const path = formatPath((issue.path ?? []).map((segment) => (typeof segment === "object" ? segment.key : segment)))
  return { path, message: issue.message }
}

/** A 400 about one field: the message starts with the field's path, which is also its `param`. */
export const invalidAt = (path: string, message: string): InvalidRequest => new InvalidRequest({ message: `${path}: ${message}`, param: path })

/** A schema failure as a 400 naming the first offending field and what was expected there. */
export const invalidFromSchema = (error: SchemaError): InvalidRequest => {
  const { path, message } = describeSchemaError(error)
  return path === "" ? new InvalidRequest({ message }) : invalidAt(path, message)
}

/**
 * A decoder of a management request's JSON body (admin and account APIs) against a struct that
 * refuses any field it does not declare: a misspelt optional field would otherwise pass as if it
 * were absent. Its answer is the body, or a 400 naming the first offending field.
 */
export const strictBodyDecoder = <A, I>(struct: Schema.Codec<A, I> & { readonly fields: Schema.Struct.Fields }) => {
  const schema = struct.annotate({ messageUnexpectedKey: `unknown field; expected one of ${Object.keys(struct.fields).join(", ")}` })
  const decode = Schema.decodeUnknownResult(schema, { onExcessProperty: "error" })
  return (body: unknown): A | InvalidRequest => {
    const result = decode(body)
    return Result.isSuccess(result) ? result.success : invalidFromSchema(result.failure)
  }
}
