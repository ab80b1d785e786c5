# billbridge: slim image, non-root user, `billbridge` as the entrypoint.
# The default command runs the end-to-end demo on the bundled sample data (SQLite).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY billbridge ./billbridge
COPY canonical ./canonical
COPY config ./config
COPY connectors ./connectors
COPY mappings ./mappings
COPY reconcile ./reconcile
COPY sync ./sync
COPY uat ./uat
RUN pip install --no-cache-dir --upgrade pip \
 && pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 billbridge
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER billbridge
WORKDIR /home/billbridge
ENV BILLBRIDGE_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
ENTRYPOINT ["billbridge"]
CMD ["demo"]
