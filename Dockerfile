# One image for every Passerelle role; compose.yaml picks the role by command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PASSERELLE_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY passerelle ./passerelle
COPY services ./services
COPY conformance ./conformance
COPY cli ./cli
COPY schemas ./schemas
COPY trust_lists ./trust_lists
RUN pip install . && useradd --create-home --uid 10001 passerelle \
    && mkdir -p /data && chown passerelle /data

USER passerelle
VOLUME ["/data"]
ENTRYPOINT ["passerelle"]
CMD ["--help"]
