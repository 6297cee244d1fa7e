# Spillway: the stream processor, built to JavaScript; the runtime image holds the product only (no tools/,
# no TypeScript, no devDependencies). test/cli/image-files.test.ts runs the CLI from exactly the files the
# runtime stage copies, so keep its COPY lines in the `COPY <from> <to>` form that test reads.
#   docker build -t spillway .
#   docker run --rm spillway --help

# --- build: compile src/ to dist/ ---
FROM node:20-bookworm-slim AS build
WORKDIR /build
COPY package.json package-lock.json ./
# The optional native tfjs binding is left out (wasm is used).
RUN npm ci --omit=optional --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/copy-assets.mjs ./scripts/copy-assets.mjs
COPY src ./src
RUN npm run build

# --- runtime ---
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    KAFKAJS_NO_PARTITIONER_WARNING=1

# Dependencies first, so source edits do not invalidate this layer; no devDependency is needed at run time.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force

COPY bin ./bin
COPY topics ./topics
COPY --from=build /build/dist ./dist
# Convert the pretrained word vectors to their compact cache now: node_modules is read-only for the `node` user.
RUN node --input-type=module -e "const { loadWordVectors } = await import('/app/dist/cascade/index.js'); loadWordVectors(100000);"

# Model state is saved here on shutdown and restored on start: mount a volume to keep it.
RUN mkdir -p /app/models && chown -R node:node /app/models
VOLUME ["/app/models"]
USER node

# 9464: /metrics, /status, /healthz and the dashboard.
EXPOSE 9464
ENTRYPOINT ["node", "bin/spillway.js"]
CMD ["run"]
