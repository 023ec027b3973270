# Runs `ritm run` (bot + dispatcher + HTTP) on SQLite in /data.
# Give it at `docker run` (never bake them into the image): RITM_SECRET, at least 32 random bytes, e.g.
#   python -c "import secrets; print(secrets.token_urlsafe(48))"
# (`ritm run` refuses to start without one), and RITM_PUBLIC_URL, the public https address of this
# server (tracking and unsubscribe links point there). See the README's configuration table.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    RITM_DB=/data/ritm.db RITM_HTTP_HOST=0.0.0.0 RITM_HTTP_PORT=8080

RUN apt-get update && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 ritm \
    && mkdir /data && chown ritm:ritm /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY policy policy
COPY storage storage
COPY dispatcher dispatcher
COPY bot bot
COPY templates templates
COPY web web
COPY ritm ritm
RUN pip install .

USER ritm
VOLUME ["/data"]
EXPOSE 8080
CMD ["ritm", "run"]
