# One image for every facility monitor process (`fm gateway`, `fm api`, `fm db upgrade`, ...).
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY core core
COPY sensors sensors
COPY governance governance
COPY storage storage
COPY gateway gateway
COPY alerts alerts
COPY reports reports
COPY residents residents
COPY api api
COPY fm fm
RUN pip install --no-cache-dir . && useradd --system --home /app fm
USER fm
ENTRYPOINT ["fm"]
