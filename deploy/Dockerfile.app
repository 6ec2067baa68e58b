# The gateway (web chat, console, Telegram, back-office API) and the action server: one image,
# two entry points (docs/deploy.md). Build from the repository's root:
#   docker build -f deploy/Dockerfile.app -t citybot-app:1.0 .
# Build stage: wheels and the virtualenv, with whatever compilers they need.
FROM python:3.12-slim AS build
WORKDIR /build
RUN python -m venv /opt/venv
COPY requirements/gateway.in requirements/constraints.txt requirements/
RUN /opt/venv/bin/pip install --no-cache-dir "pip<25" \
 && /opt/venv/bin/pip install --no-cache-dir -r requirements/gateway.in -c requirements/constraints.txt

# Run stage: the virtualenv and our code only; no compilers, no pip cache, not root.
FROM python:3.12-slim
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /app citybot
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY bot/ bot/
COPY channels/ channels/
COPY actions/ actions/
COPY knowledge/ knowledge/
# The safety detector trains on nlu/safety when the gateway starts (a few seconds).
COPY nlu/ nlu/
COPY domain.yml endpoints.yml credentials.yml pyproject.toml ./
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CITYBOT_DATA_DIR=/var/lib/citybot \
    CITYBOT_GATEWAY_HOST=0.0.0.0 \
    SANIC_HOST=0.0.0.0
USER 10001:10001
EXPOSE 8080 5055
# The gateway by default; the action server is `python -m actions --port 5055`.
CMD ["python", "-m", "channels"]
