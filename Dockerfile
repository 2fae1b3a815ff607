# One image for the web server and the workers; docker-compose.yml picks the command.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /app
# Dependencies first, so code changes don't reinstall them.
COPY pyproject.toml README.md ./
COPY grader/__init__.py grader/__init__.py
COPY reference/__init__.py reference/__init__.py
COPY worker/__init__.py worker/__init__.py
# With the optional monitor (Flower), which the compose file's "monitoring" profile runs.
RUN pip install '.[monitoring]' && pip uninstall -y autograde
COPY grader grader
COPY reference reference
COPY worker worker
RUN pip install --no-deps . \
    && useradd --create-home --uid 1000 autograde
USER autograde
EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "grader:create_app()"]
