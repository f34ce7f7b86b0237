import assert from "node:assert/strict"
import { describe, it } from "node:test"
import {
  ByokCredentialMissing,
  InsufficientBalance,
  Internal,
  InvalidRequest,
  ModelNotFound,
  PayloadTooLarge,
  RateLimited,
  type RelayError,
  RouteNotFound,
  Unauthorized,
  UpstreamFailed,
  UpstreamRejected,
  UpstreamTimeout,
  UpstreamUnavailable
} from "../../core/errors.ts"
import { errorBody, errorResponse } from "../../core/surfaces/errors.ts"

const cases: ReadonlyArray<{ error: RelayError; status: number; openai: string; anthropic: string }> = [
  { error: new InvalidRequest({ message: "bad", param: "model" }), status: 400, openai: "invalid_request_error", anthropic: "invalid_request_error" },
  { error: new Unauthorized({ message: "no key" }), status: 401, openai: "invalid_request_error", anthropic: "authentication_error" },
  { error: new InsufficientBalance({ message: "broke" }), status: 402, openai: "insufficient_quota", anthropic: "billing_error" },
  { error: new ByokCredentialMissing({ message: "no byok" }), status: 403, openai: "permission_error", anthropic: "permission_error" },
  { error: new RouteNotFound({ message: "no route" }), status: 404, openai: "invalid_request_error", anthropic: "not_found_error" },
  { error: new ModelNotFound({ message: "no model" }), status: 404, openai: "invalid_request_error", anthropic: "not_found_error" },
  { error: new PayloadTooLarge({ message: "too big" }), status: 413, openai: "invalid_request_error", anthropic: "request_too_large" },
  { error: new RateLimited({ message: "slow down", retryAfterSeconds: 3 }), status: 429, openai: "rate_limit_error", anthropic: "rate_limit_error" },
  { error: new Internal({ message: "oops" }), status: 500, openai: "server_error", anthropic: "api_error" },
  { error: new UpstreamFailed({ message: "all failed" }), status: 502, openai: "server_error", anthropic: "api_error" },
  { error: new UpstreamUnavailable({ message: "no keys" }), status: 503, openai: "server_error", anthropic: "overloaded_error" },
  { error: new UpstreamUnavailable({ message: "busy", retryAfterSeconds: 5 }), status: 503, openai: "server_error", anthropic: "overloaded_error" },
  { error: new UpstreamTimeout({ message: "late" }), status: 504, openai: "server_error", anthropic: "timeout_error" }
]

describe("errorBody", () => {
  for (const { error, status, openai, anthropic } of cases) {
    const label = `${error._tag} (${error.message})`

    it(`${label}: status ${status}, OpenAI type ${openai}`, () => {
      assert.equal(error.status, status)
      assert.deepEqual(errorBody("openai", error), {
        error: {
          message: error.message,
          type: openai,
          param: error._tag === "InvalidRequest" ? "model" : null,
          code: error.code
        }
      })
    })

    it(`${label}: Anthropic type ${anthropic}`, () => {
      assert.deepEqual(errorBody("anthropic", error), {
        type: "error",
        error: { type: anthropic, message: `${error.message} (${error.code})` }
      })
    })
  }

  it("OpenAI: an upstream rejection keeps the upstream's type and param", () => {
    const error = new UpstreamRejected({
      message: "context too long",
      upstreamStatus: 400,
      upstreamType: "invalid_request_error",
      param: "messages"
    })
    assert.deepEqual(errorBody("openai", error), {
      error: { message: "context too long", type: "invalid_request_error", param: "messages", code: "upstream_rejected" }
    })
  })

  it("OpenAI: an upstream rejection carries the upstream's own code, else upstream_rejected", () => {
    const error = new UpstreamRejected({
      message: "This model's maximum context length is 128000 tokens",
      upstreamStatus: 400,
      upstreamCode: "context_length_exceeded",
      upstreamType: "invalid_request_error",
      param: "messages"
    })
    assert.deepEqual(errorBody("openai", error), {
      error: { message: error.message, type: "invalid_request_error", param: "messages", code: "context_length_exceeded" }
    })
    assert.equal(error.code, "upstream_rejected", "the relay's own code stays for its logs")
  })

  it("OpenAI: an upstream type that is neither API's gives way to the status's type", () => {
    const body = errorBody("openai", new UpstreamRejected({ message: "m", upstreamStatus: 403, upstreamType: "whatever" })) as {
      error: { type: string }
    }
    assert.equal(body.error.type, "permission_error")
  })

  it("Anthropic: an upstream rejection is typed by its status and names the upstream's code in the message", () => {
    const error = new UpstreamRejected({
      message: "prompt is too long",
      upstreamStatus: 400,
      upstreamCode: "context_length_exceeded",
      upstreamType: "invalid_request_error"
    })
    assert.deepEqual(errorBody("anthropic", error), {
      type: "error",
      error: { type: "invalid_request_error", message: "prompt is too long (context_length_exceeded)" }
    })
  })

  it("OpenAI: an upstream rejection without a type is typed by its status", () => {
    assert.deepEqual(errorBody("openai", new UpstreamRejected({ message: "nope", upstreamStatus: 403 })), {
      error: { message: "nope", type: "permission_error", param: null, code: "upstream_rejected" }
    })
  })

  it("Anthropic: an upstream rejection is typed by its status", () => {
    const body = (status: number) =>
      (errorBody("anthropic", new UpstreamRejected({ message: "m", upstreamStatus: status, upstreamType: "whatever" })) as {
        error: { type: string }
      }).error.type
    assert.equal(body(401), "authentication_error")
    assert.equal(body(404), "not_found_error")
    assert.equal(body(413), "request_too_large")
    assert.equal(body(422), "invalid_request_error")
  })

  it("OpenAI: InvalidRequest without a param gives param null", () => {
    const body = errorBody("openai", new InvalidRequest({ message: "bad" })) as { error: { param: unknown } }
    assert.equal(body.error.param, null)
  })
})

describe("errorResponse", () => {
  it("carries the status, a JSON content type and the surface's body", async () => {
    const response = errorResponse("anthropic", new ModelNotFound({ message: "model x is unknown" }))
    assert.equal(response.status, 404)
    assert.equal(response.headers.get("content-type"), "application/json")
    assert.equal(response.headers.get("retry-after"), null)
    assert.deepEqual(await response.json(), {
      type: "error",
      error: { type: "not_found_error", message: "model x is unknown (model_not_found)" }
    })
  })

  it("adds retry-after for RateLimited, rounded up to whole seconds", async () => {
    const response = errorResponse("openai", new RateLimited({ message: "slow", retryAfterSeconds: 2.2 }))
    assert.equal(response.status, 429)
    assert.equal(response.headers.get("retry-after"), "3")
    const body = (await response.json()) as { error: { type: string; code: string } }
    assert.equal(body.error.type, "rate_limit_error")
    assert.equal(body.error.code, "rate_limit_exceeded")
  })

  it("never sends retry-after below 1", () => {
    const response = errorResponse("openai", new RateLimited({ message: "slow", retryAfterSeconds: 0 }))
    assert.equal(response.headers.get("retry-after"), "1")
  })

  it("adds retry-after for UpstreamUnavailable only when it has a retry time", () => {
    assert.equal(errorResponse("openai", new UpstreamUnavailable({ message: "x", retryAfterSeconds: 20 })).headers.get("retry-after"), "20")
    assert.equal(errorResponse("openai", new UpstreamUnavailable({ message: "x" })).headers.get("retry-after"), null)
  })

  it("keeps the given headers", () => {
    const headers = new Headers({ "x-request-id": "req_1", "content-type": "text/plain" })
    const response = errorResponse("openai", new Unauthorized({ message: "no" }), headers)
    assert.equal(response.headers.get("x-request-id"), "req_1")
    assert.equal(response.headers.get("content-type"), "application/json")
    assert.equal(response.status, 401)
    assert.equal(headers.get("content-type"), "text/plain", "the caller's Headers are not modified")
  })

  it("uses the upstream status for an upstream rejection", () => {
    assert.equal(errorResponse("openai", new UpstreamRejected({ message: "m", upstreamStatus: 422 })).status, 422)
  })
})
