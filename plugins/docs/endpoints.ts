import type { Endpoint } from "../../core/index.ts"

/** A route the docs page may list, with what it does; listed only if this relay serves it. */
export interface DocumentedRoute {
  readonly method: string
  /** The route as registered (`:provider` for a path parameter). */
  readonly path: string
  readonly description: string
}

/**
 * The core's proxied routes (SPEC section 3), each also under `/byok/v1`, and the stored
 * responses'. An endpoint a plugin contributes carries its own description (`Endpoint.description`).
 */
export const PROXIED_ROUTES: ReadonlyArray<DocumentedRoute> = [
  { method: "POST", path: "/v1/chat/completions", description: "OpenAI-compatible chat completions, streaming and not, tool calls included" },
  { method: "POST", path: "/v1/messages", description: "Anthropic Messages API compatibility, streaming and not" },
  { method: "POST", path: "/v1/messages/count_tokens", description: "Anthropic token counting" },
  { method: "POST", path: "/v1/embeddings", description: "Embeddings and vector-ready workflows" },
  { method: "POST", path: "/v1/images/generations", description: "Image generation (gpt-image-*)" },
  { method: "POST", path: "/v1/images/edits", description: "Image edits with multipart or JSON image inputs" },
  { method: "GET", path: "/v1/models", description: "The models this relay serves, with their prices" },
  { method: "POST", path: "/v1/responses", description: "OpenAI Responses API on every model (Codex CLI, the Agents SDK), streaming and not" },
  { method: "GET", path: "/v1/responses/:id", description: "A stored response of your account" },
  { method: "GET", path: "/v1/responses/:id/input_items", description: "The input items of a stored response (?limit=20&order=desc)" },
  { method: "DELETE", path: "/v1/responses/:id", description: "Delete a stored response" }
]

/** The account's self-service API (SPEC section 5), called with the account's own relay key. */
export const ACCOUNT_ROUTES: ReadonlyArray<DocumentedRoute> = [
  { method: "GET", path: "/v1/account", description: "Your account: balance, tier and limits" },
  { method: "GET", path: "/v1/account/usage", description: "Your usage records, newest first (?limit=50)" },
  { method: "GET", path: "/v1/account/byok", description: "Your stored provider keys (hints only)" },
  { method: "PUT", path: "/v1/account/byok/:provider", description: "Store or replace your key for a provider: {\"api_key\": \"...\"}" },
  { method: "DELETE", path: "/v1/account/byok/:provider", description: "Delete your key for a provider" },
  { method: "GET", path: "/v1/account/keys", description: "Your account's relay keys, with their restrictions and spend" },
  {
    method: "POST",
    path: "/v1/account/keys",
    description: "Make a key no wider than yours: {\"name\", \"spend_limit\": \"5\", \"spend_period\": \"month\", \"models\": [\"claude-haiku-*\"], \"expires_at\"}"
  },
  { method: "DELETE", path: "/v1/account/keys/:id", description: "Revoke a key of your account (with a key that has no restrictions)" }
]

/** A registered path as readers write it: `{provider}` rather than `:provider`. */
/** The endpoints the plugins contribute, as the page lists them: those that describe themselves. */
export const contributedRoutes = (endpoints: ReadonlyArray<Endpoint>): ReadonlyArray<DocumentedRoute> =>
  endpoints.flatMap((endpoint) => endpoint.description === undefined ? [] : [{ method: "POST", path: `/v1${endpoint.route}`, description: endpoint.description }])

export const displayPath = (path: string): string => path.replace(/:([A-Za-z_]+)/g, "{$1}")
