# Anclora Converter: the server (or, with `anclora worker`, a conversion worker) on Debian 12 with its engines.
# Build: docker build -t anclora .   Run: see docker-compose.yml.
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# the engines (LibreOffice with its UNO bridge for /usr/bin/python3, ffmpeg, poppler, chromium, OCRmyPDF), the PostgreSQL client for
# backups, util-linux for the sandbox's unshare
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        python3 python3-venv python3-uno ca-certificates \
        libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui \
        ffmpeg poppler-utils fonts-dejavu-core util-linux chromium postgresql-client sqlite3 \
        ocrmypdf tesseract-ocr tesseract-ocr-eng tesseract-ocr-spa tesseract-ocr-deu tesseract-ocr-fra ghostscript \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/anclora
COPY setup.py setup.cfg README.md ./
COPY anclora ./anclora
RUN python3 -m venv /opt/anclora/venv && /opt/anclora/venv/bin/pip install --quiet .
COPY plugins ./plugins
COPY playbooks ./playbooks
COPY config ./config

RUN useradd --system --home-dir /var/anclora --shell /usr/sbin/nologin anclora \
    && mkdir -p /var/anclora/uploads \
    && chown -R anclora:anclora /var/anclora
USER anclora

ENV PATH=/opt/anclora/venv/bin:$PATH \
    UPLOAD_FOLDER=/var/anclora/uploads \
    ANCLORA_HOST=0.0.0.0 \
    ANCLORA_PORT=5000
VOLUME ["/var/anclora/uploads"]
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:5000/api/health', timeout=4).status != 200)"]
CMD ["anclora", "serve", "--migrate"]
