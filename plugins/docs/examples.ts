/**
 * The code examples of the docs page, filled in with this relay's own URL and a model it
 * serves. Plain text: the page escapes it.
 */
export const curlExample = (base: string, model: string): string =>
  `curl ${base}/chat/completions \\
  -H "Authorization: Bearer sk-rr-YOUR-KEY" \\
  -H "Content-Type: application/json" \\
  -d '{
    "model": "${model}",
    "messages": [{"role": "user", "content": "Hello!"}]
  }'`

export const pythonExample = (base: string, model: string): string =>
  `from openai import OpenAI

client = OpenAI(base_url="${base}", api_key="sk-rr-YOUR-KEY")

response = client.chat.completions.create(
    model="${model}",
    messages=[{"role": "user", "content": "Hello!"}],
)
print(response.choices[0].message.content)`

export const javascriptExample = (base: string, model: string): string =>
  `import OpenAI from "openai"

const client = new OpenAI({ baseURL: "${base}", apiKey: "sk-rr-YOUR-KEY" })

const stream = await client.chat.completions.create({
  model: "${model}",
  stream: true,
  messages: [{ role: "user", content: "Hello!" }]
})
let reply = ""
for await (const chunk of stream) reply += chunk.choices[0]?.delta.content ?? ""
console.log(reply)`

export const byokExample = (origin: string, model: string): string =>
  `curl -X PUT ${origin}/v1/account/byok/openai \\
  -H "Authorization: Bearer sk-rr-YOUR-KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"api_key": "sk-your-own-openai-key"}'

curl ${origin}/byok/v1/chat/completions \\
  -H "Authorization: Bearer sk-rr-YOUR-KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello!"}]}'`

export const responsesExample = (base: string, model: string): string =>
  `curl ${base}/responses \\
  -H "Authorization: Bearer sk-rr-YOUR-KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"model": "${model}", "input": "Hello!"}'`

/** Codex CLI's `~/.codex/config.toml` for this relay: a model provider speaking the Responses API. */
export const codexExample = (base: string, model: string): string =>
  `# ~/.codex/config.toml, then: export RELAY_API_KEY=sk-rr-YOUR-KEY
model = "${model}"
model_provider = "relay"

[model_providers.relay]
name = "Rocket Relay"
base_url = "${base}"
env_key = "RELAY_API_KEY"
wire_api = "responses"`
