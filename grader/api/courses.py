"""Course endpoints: the roster."""

from __future__ import annotations

from typing import Any

from flask import request

from grader.api import bp
from grader.api.auth import check_instructor, require
from grader.api.serialize import user_doc
from grader.domain.roster import RosterEntry, upsert_roster
from grader.exceptions import InvalidInput, NotFound
from grader.extensions import db
from grader.models import Course


@bp.put("/courses/<int:course_id>/roster")
@require("roster:write")
def put_roster(course_id: int) -> tuple[dict[str, Any], int]:
    """Upsert students and enroll them; students missing from the roster stay enrolled."""
    course = db.session.get(Course, course_id)
    if course is None:
        raise NotFound(f"no course {course_id}")
    check_instructor(course_id)
    body = request.get_json(silent=True)
    students = body.get("students") if isinstance(body, dict) else body
    if not isinstance(students, list):
        raise InvalidInput(
            'send JSON {"students": [{"email": ..., "name": ..., "lms_user_id": ...}, ...]}'
        )
    entries = [RosterEntry.parse(item, i) for i, item in enumerate(students)]
    result = upsert_roster(db.session, course, entries)
    db.session.commit()
    return {
        "course_id": course.id,
        "created": len(result.created),
        "updated": len(result.updated),
        "unchanged": len(result.unchanged),
        "enrolled": len(result.enrolled),
        "students": [user_doc(u) for u in result.created + result.updated + result.unchanged],
    }, 200
