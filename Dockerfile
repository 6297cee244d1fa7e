# Spillway: the stream processor, run with tsx straight from the sources (no build step).
#   docker build -t spillway .
#   docker run --rm spillway --help
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production \
    KAFKAJS_NO_PARTITIONER_WARNING=1

# Dependencies first, so source edits do not invalidate this layer.
COPY package.json package-lock.json ./
# tsx (a devDependency) runs the sources; the optional native tfjs binding is left out (wasm is used).
RUN npm ci --include=dev --omit=optional && npm cache clean --force

COPY bin ./bin
COPY src ./src
COPY topics ./topics
COPY tsconfig.json ./

# Model state is saved here on shutdown and restored on start: mount a volume to keep it.
RUN mkdir -p /app/models && chown -R node:node /app/models
VOLUME ["/app/models"]
USER node

# 9464: /metrics, /status, /healthz and the dashboard.
EXPOSE 9464
ENTRYPOINT ["node", "bin/spillway.js"]
CMD ["run"]
