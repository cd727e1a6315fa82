# One image for the worker and the starter (docker-compose.yml picks the command).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY config ./config
ENV NODE_ENV=production
USER node
CMD ["npx", "tsx", "src/worker.ts"]
