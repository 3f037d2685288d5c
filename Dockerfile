# Two layers: dependencies (cached while pyproject.toml is unchanged), then the app.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv/tactful

COPY pyproject.toml README.md ./
RUN mkdir app && touch app/__init__.py && pip install . && pip uninstall -y tactful && rm -rf app

COPY app ./app
COPY prompts ./prompts
# The eval suite, so `tactful eval evals/` can gate a prompt change from the image too.
COPY evals ./evals
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 tactful \
    && mkdir -p /data && chown tactful /data
USER tactful
ENV TACTFUL_DATABASE_URL=sqlite:////data/tactful.db TACTFUL_PROMPTS_DIR=/srv/tactful/prompts
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz').status==200 else 1)"
ENTRYPOINT ["tactful"]
CMD ["serve", "--port", "3000"]
