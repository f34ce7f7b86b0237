/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Context } from "hono"
import type { modelObject, RateTier } from "../../core/index.ts"
import { displayUsd, htmlPage, Layout } from "../web/index.ts"
import { displayPath, type DocumentedRoute } from "./endpoints.ts"
import { byokExample, codexExample, curlExample, javascriptExample, pythonExample, responsesExample } from "./examples.ts"

export type ModelView = ReturnType<typeof modelObject>

export interface DocsPageProps {
  readonly title: string
  readonly stylesheet: string
  /** The origin clients reach this relay at. */
  readonly origin: string
  readonly models: ReadonlyArray<ModelView>
  readonly tiers: Readonly<Record<string, RateTier>>
  readonly defaultTier: string
  readonly proxied: ReadonlyArray<DocumentedRoute>
  readonly account: ReadonlyArray<DocumentedRoute>
  /** The model the examples call. */
  readonly exampleModel: string
  readonly consolePath: string | undefined
}

const PRICE_COLUMNS = [
  ["input", "Input"],
  ["cached_input", "Cached input"],
  ["cache_write", "Cache write"],
  ["output", "Output"],
  ["image_input", "Image input"],
  ["image_cached_input", "Image cached input"],
  ["image_output", "Image output"]
] as const

const count = (value: number | null) => (value === null ? "—" : value.toLocaleString("en-US"))

const titleCase = (name: string) => name.charAt(0).toUpperCase() + name.slice(1)

const Code = (props: { label: string; code: string }) => (
  <figure>
    <figcaption class="muted">{props.label}</figcaption>
    <pre><code>{props.code}</code></pre>
  </figure>
)

const RouteTable = (props: { caption: string; routes: ReadonlyArray<DocumentedRoute>; extra?: DocumentedRoute }) => (
  <div class="table-wrap">
    <table>
      <caption>{props.caption}</caption>
      <thead>
        <tr><th scope="col">Method</th><th scope="col">Endpoint</th><th scope="col">Description</th></tr>
      </thead>
      <tbody>
        {[...props.routes, ...(props.extra ? [props.extra] : [])].map((route) => (
          <tr>
            <td><code>{route.method}</code></td>
            <th scope="row"><code>{displayPath(route.path)}</code></th>
            <td>{route.description}</td>
          </tr>
        ))}
      </tbody>
    </table>
  </div>
)

const Catalog = (props: { models: ReadonlyArray<ModelView> }) => {
  const columns = PRICE_COLUMNS.filter(([key]) => props.models.some((model) => model.pricing[key] !== undefined))
  return (
    <div class="table-wrap">
      <table id="model-catalog">
        <caption>Models served by this relay; prices in USD per 1M tokens</caption>
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">Provider</th>
            <th scope="col">Kind</th>
            <th scope="col" class="num">Context window</th>
            <th scope="col" class="num">Max output</th>
            {columns.map(([, label]) => <th scope="col" class="num">{label}</th>)}
          </tr>
        </thead>
        <tbody>
          {props.models.map((model) => (
            <tr>
              <th scope="row"><code>{model.id}</code></th>
              <td>{model.owned_by}</td>
              <td>{model.kind}</td>
              <td class="num">{count(model.context_window)}</td>
              <td class="num">{count(model.max_output_tokens)}</td>
              {columns.map(([key]) => {
                const price = model.pricing[key]
                return <td class="num">{price === undefined ? "—" : displayUsd(price)}</td>
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

/** The public docs page: how to call this relay, filled in from its running config. */
export const DocsPage = (props: DocsPageProps) => {
  const base = `${props.origin}/v1`
  const byokBase = `${props.origin}/byok/v1`
  return (
    <Layout
      title={`${props.title} API documentation`}
      stylesheet={props.stylesheet}
      nav={
        <>
          <a href="#models">Models</a>
          {props.consolePath === undefined ? null : <a href={props.consolePath}>Console</a>}
        </>
      }
    >
      <h1>{props.title} API documentation</h1>
      <p class="lead">
        This relay is compatible with OpenAI-style clients. Keep your existing SDK, point it at the relay's base URL and
        authenticate with a relay API key; one integration reaches every model below.
      </p>

      <h2 id="base-urls">Base URLs</h2>
      <div class="table-wrap">
        <table>
          <caption>Where to point your client</caption>
          <thead>
            <tr><th scope="col">Use case</th><th scope="col">Base URL</th></tr>
          </thead>
          <tbody>
            <tr><th scope="row">Standard: billed to your balance, served from the relay's providers</th><td><code>{base}</code></td></tr>
            <tr><th scope="row">BYOK: served with your own stored provider keys</th><td><code>{byokBase}</code></td></tr>
          </tbody>
        </table>
      </div>
      <p>
        <code>/byok/v1</code> is the single BYOK entry point. The provider is chosen from the model name, as on the
        standard base URL: a Claude model uses your Anthropic key, a GPT model your OpenAI key. A request for a provider you
        have stored no key for is refused (403 <code>byok_credential_missing</code>); it is never served from the shared
        pool.
      </p>

      <h2 id="authentication">Authentication</h2>
      <p>
        Every request carries a relay API key (<code>sk-rr-...</code>), either as <code>Authorization: Bearer sk-rr-...</code>{" "}
        (OpenAI clients) or as <code>x-api-key: sk-rr-...</code> (Anthropic clients).
        {props.consolePath === undefined
          ? " Ask the operator of this relay for a key."
          : <> Create and revoke your keys in the <a href={props.consolePath}>console</a>.</>}
      </p>
      <pre><code>Authorization: Bearer sk-rr-YOUR-KEY</code></pre>

      <h2 id="endpoints">Endpoints</h2>
      <RouteTable
        caption="Proxied endpoints"
        routes={props.proxied}
        extra={{ method: "ANY", path: "/byok/v1/...", description: "Every endpoint above, forced through your own stored provider keys" }}
      />
      <RouteTable caption="Your account" routes={props.account} />

      <h2 id="rate-limits">Rate limits</h2>
      <div class="table-wrap">
        <table id="rate-tiers">
          <caption>Requests and tokens per minute by tier</caption>
          <thead>
            <tr><th scope="col">Tier</th><th scope="col" class="num">RPM</th><th scope="col" class="num">TPM</th></tr>
          </thead>
          <tbody>
            {Object.entries(props.tiers).map(([name, tier]) => (
              <tr>
                <th scope="row">
                  {titleCase(name)}
                  {name === props.defaultTier ? <span class="muted"> (new accounts)</span> : null}
                </th>
                <td class="num">{count(tier.rpm)}</td>
                <td class="num">{count(tier.tpm)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p>
        Tokens per minute count prompt plus completion tokens. Responses carry <code>X-RateLimit-Limit</code>,{" "}
        <code>X-RateLimit-Remaining</code> and <code>X-RateLimit-Reset</code> (and the same for tokens); a 429 adds{" "}
        <code>Retry-After</code>.
      </p>

      <h2 id="examples">Examples</h2>
      <Code label="cURL" code={curlExample(base, props.exampleModel)} />
      <Code label="Python (openai)" code={pythonExample(base, props.exampleModel)} />
      <Code label="JavaScript (openai)" code={javascriptExample(base, props.exampleModel)} />
      <h3>Responses API and Codex CLI</h3>
      <p>
        <code>POST /v1/responses</code> serves OpenAI's Responses API on every model: passed through for OpenAI's, translated
        for Claude and the others, tools, reasoning and streaming included. A stored response (<code>store</code> is on
        unless you turn it off) can be continued with <code>previous_response_id</code>, read and deleted by your account only.
      </p>
      <Code label="cURL (Responses API)" code={responsesExample(base, props.exampleModel)} />
      <Code label="Codex CLI" code={codexExample(base, props.exampleModel)} />
      <h3>BYOK</h3>
      <Code label="Store your own provider key, then call through /byok/v1" code={byokExample(props.origin, props.exampleModel)} />

      <h2 id="models">Model catalog</h2>
      <p>
        Prices are what this relay charges, in USD per 1M tokens; prompt tokens read from a cache are charged at the cached
        rate. <code>GET /v1/models</code> answers the same catalog as JSON.
      </p>
      <Catalog models={props.models} />

      <h2 id="errors">Errors</h2>
      <p>
        Errors follow the shape of the API you call: <code>{'{"error": {"message", "type", "param", "code"}}'}</code> on
        OpenAI routes, <code>{'{"type": "error", "error": {"type", "message"}}'}</code> on Anthropic routes.
      </p>
      <div class="table-wrap">
        <table>
          <caption>Status codes</caption>
          <thead>
            <tr><th scope="col">Status</th><th scope="col">Meaning</th></tr>
          </thead>
          <tbody>
            <tr><th scope="row">400</th><td>Malformed JSON or an invalid field (the message names it)</td></tr>
            <tr><th scope="row">401</th><td>Missing, unknown or revoked API key</td></tr>
            <tr><th scope="row">402</th><td>The balance cannot cover the request (<code>insufficient_balance</code>)</td></tr>
            <tr><th scope="row">403</th><td>BYOK route without a stored key for the provider (<code>byok_credential_missing</code>)</td></tr>
            <tr><th scope="row">404</th><td>Unknown route, or a model this relay does not serve (<code>model_not_found</code>)</td></tr>
            <tr><th scope="row">408</th><td>The request body did not arrive in time (<code>request_timeout</code>)</td></tr>
            <tr><th scope="row">413</th><td>Request body too large</td></tr>
            <tr><th scope="row">429</th><td>Rate limit reached (<code>rate_limit_exceeded</code>), too many failed sign-ins from your address, or too many requests at once; see <code>Retry-After</code></td></tr>
            <tr><th scope="row">502, 503, 504</th><td>The upstream provider failed, is unavailable, or timed out; a 503 <code>relay_busy</code> means the relay itself is at capacity</td></tr>
          </tbody>
        </table>
      </div>
    </Layout>
  )
}

/** The docs page as a response; it varies with the origin it was reached at, so it is not cached. */
export const docsPage = (c: Context, props: DocsPageProps): Promise<Response> =>
  htmlPage(c, <DocsPage {...props} />, 200, { "cache-control": "no-cache" })
