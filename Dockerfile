# The trial bot as a container: the project's wheel on slim Python, run by a user
# without privileges. compose.yaml runs it with PostgreSQL (README: Running for real).
#
#   docker build -t lupus-trial-bot .
#
# The wheel carries the compiled catalogs, the migrations and the charts' font, so
# the image needs nothing from the checkout and no system font.

FROM python:3.11-slim AS wheel
WORKDIR /src
COPY . .
# pip builds the wheel as `pip install .` would; the catalogs are compiled into it.
RUN pip wheel --no-cache-dir --disable-pip-version-check --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --system --user-group --uid 10001 --create-home --home-dir /srv/trial trial
COPY --from=wheel /wheels /wheels
# Installing compiles the bytecode once, as `make bytecode` does for a checkout.
RUN pip install /wheels/*.whl && rm -rf /wheels
USER trial
WORKDIR /srv/trial
RUN mkdir data
# The bot's web server (WeChat's callback, the patients' pages) listens on every
# interface inside the container; publish it only to the site's HTTPS proxy.
ENV WEB_HOST=0.0.0.0 \
    WEB_PORT=8080 \
    DATABASE_URL=sqlite:////srv/trial/data/trial.db
EXPOSE 8080
# Healthy once the bot reaches its database and the database is at this bot's schema.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot", "migrate", "--check"]
CMD ["python", "-m", "bot", "run"]
