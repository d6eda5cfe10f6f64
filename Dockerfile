# lunarwatch: `docker build -t lunarwatch .` then `docker run -v lunarwatch-state:/app/state lunarwatch`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --user-group monitor

WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor/ monitor/
COPY config/ config/
COPY seeds/ seeds/

# The README's install without the test extras. The smoke test runs outside /app so that it imports the
# installed package (with its data files), not the source tree.
RUN pip install --no-cache-dir . \
    && rm -rf build *.egg-info \
    && cd / && python -c "from monitor.judge.entities import places; assert places()" && monitor --version \
    && mkdir -p /app/state && chown monitor:monitor /app/state

USER monitor
ENV MONITOR_CONFIG=/app/config/monitor.toml
VOLUME /app/state

HEALTHCHECK --interval=5m --start-period=10m CMD monitor healthcheck || exit 1
CMD ["monitor", "run"]
