# Spillway: the stream processor, built to JavaScript; the runtime image holds the product only (no tools/,
# no TypeScript, no devDependencies). test/cli/image-files.test.ts runs the runtime stage's `npm ci` on exactly
# the files it copies (no network beyond the npm registry: no install script downloads) and the CLI from there, so keep its COPY
# lines in the `COPY <from> <to>` form that test reads. The build needs the npm registry, and Maven Central for
# the default sentence encoder (e5-small, fetched once here so a container needs no download to start).
#   docker build -t spillway .
#   docker run --rm spillway --help

# --- build: compile src/ to dist/ ---
FROM node:20-bookworm-slim AS build
WORKDIR /build
COPY package.json package-lock.json ./
# Optional packages are left out: none is needed to build or run (tfjs runs on wasm).
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
# The default sentence encoder's files (its jar from Maven Central, SHA-1 checked), where every start looks.
ENV SPILLWAY_MODELS_CACHE_DIR=/app/model-cache
RUN node bin/spillway.js encoder fetch

# Model state is saved here on shutdown and restored on start: mount a volume to keep it.
RUN mkdir -p /app/models && chown -R node:node /app/models
VOLUME ["/app/models"]
USER node

# 9464: /metrics, /status, /healthz and the dashboard.
EXPOSE 9464
ENTRYPOINT ["node", "bin/spillway.js"]
CMD ["run"]
