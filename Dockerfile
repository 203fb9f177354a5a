# The syncledger app image used by compose.yaml.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY core ./core
COPY projections ./projections
COPY adapters ./adapters
COPY audit ./audit
RUN pip install --no-cache-dir -c constraints.txt . \
    && useradd --system --home /data syncledger && mkdir -p /data && chown syncledger /data
USER syncledger
ENTRYPOINT ["syncledger"]
CMD ["run"]
