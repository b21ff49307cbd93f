# The upstream image with the company's validation script.
ARG UPSTREAM
FROM ${UPSTREAM}node:15-alpine
COPY validate.sh /test/validate.sh
