# Retain: API + dashboard in one image. Used by docker-compose.yml next to a PostgreSQL server.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY apps/api/package.json apps/api/
COPY apps/web/package.json apps/web/
COPY libs/contracts/package.json libs/contracts/
COPY libs/analytics/package.json libs/analytics/
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=3000 DATA_DIR=/var/lib/retain
WORKDIR /app
COPY --from=build /app /app
RUN mkdir -p /var/lib/retain && chown node:node /var/lib/retain
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s CMD node -e "fetch('http://127.0.0.1:3000/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "apps/api/dist/main.js"]
