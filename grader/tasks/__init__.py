"""Celery tasks, declared with ``shared_task`` and bound to the app by :mod:`.celery_app`.

Tasks are thin: they take ids, re-read rows and call the domain. ``grading`` grades a run,
``sweeper`` re-enqueues runs whose worker died, ``lms`` delivers scores and rosters to an LMS,
``dispatch`` sends what the domain registered on a session once that session commits.
"""
