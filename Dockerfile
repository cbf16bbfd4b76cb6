# seqflow worker image.
# The app runs TypeScript directly through `tsx` (a runtime dependency), so
# there is no build step: install production deps, copy the sources, run.
FROM node:20-bookworm-slim

WORKDIR /app

# Dependencies first, so this layer is cached until the lockfile changes.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev \
    && npm cache clean --force

COPY tsconfig.json ./
COPY src/ ./src/
COPY bin/ ./bin/

# `npx seqflow ...` resolves the package's own "bin" entry, which must be
# executable. Sources stay root-owned and read-only for the runtime user.
RUN find bin -type f -name '*.js' -exec chmod 0755 {} +

USER node

CMD ["npm", "run", "worker"]
