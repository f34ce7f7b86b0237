# The relay as one self-contained executable (Bun's compile: runtime, code and SQLite inside),
# run by an unprivileged user with its store and generated secrets on a volume.
#   docker build -t rocket-relay .
#   docker run -p 8787:8787 -v relay-data:/data -e OPENAI_API_KEY=sk-... rocket-relay

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build:binary

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin relay \
  && mkdir -m 0700 /data && chown relay /data
WORKDIR /app
COPY --from=build /src/dist/relay /app/relay
# The shipped config imports nothing at run time, so it works beside the executable as is.
COPY --from=build /src/relay.config.ts /app/relay.config.ts
USER relay
ENV RELAY_DATA_DIR=/data HOST=0.0.0.0 PORT=8787
VOLUME /data
EXPOSE 8787
# Exec form: the relay is PID 1 and receives docker stop's SIGTERM itself, then drains.
ENTRYPOINT ["/app/relay"]
