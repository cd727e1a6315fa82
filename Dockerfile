# One image for the worker (the default command), the starter (`node dist/src/starter.js`) and the sandbox
# (`node dist/src/sandbox/server.js`): compiled JavaScript and the prebuilt workflow bundle, production dependencies
# only, run as the unprivileged user `node`. docs/deploy.md, "Building".

# Build: every dependency (tsc, tsx), then `npm run build` (dist/src/ and dist/workflow-bundle.js).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Runtime: no compiler, no test tools, no sources; the worker loads the bundle instead of bundling at start-up.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY config ./config
COPY bin ./bin
COPY --from=build /app/dist ./dist
# `enrich` on PATH (`docker compose exec worker enrich health`): bin/enrich.js runs dist/src/cli/enrich.js.
RUN ln -s /app/bin/enrich.js /usr/local/bin/enrich
USER node
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["node", "bin/healthcheck.js"]
CMD ["node", "dist/src/worker.js"]
