"""Worker entry point: ``celery -A worker.make_celery worker``."""

from grader import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
