/**
 * Paths the logger censors wherever they appear. Request log lines never carry headers or
 * bodies in the first place; this is the second line of defence for anything that slips in.
 */
export const LOG_REDACT_PATHS = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "x-api-key",
  "*.x-api-key",
  "api_key",
  "*.api_key",
  "apiKey",
  "*.apiKey",
  "key",
  "*.key",
  "secret",
  "*.secret",
  "adminKey",
  "*.adminKey"
]
