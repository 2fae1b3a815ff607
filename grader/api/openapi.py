"""The OpenAPI 3.1 document of /api/v1; tests check it matches the routes and responses."""

from __future__ import annotations

from typing import Any

from flask import request

from grader.models.submissions import STATUSES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


def _page(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "next", "limit", "offset"],
        "properties": {
            "items": {"type": "array", "items": _ref(item)},
            "next": _nullable({"type": "string", "format": "uri"}),
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
        },
    }


_ID = {"type": "integer"}
_STR = {"type": "string"}
_NUM = {"type": "number"}
#: Where a pending submission stands in the grading queue (null once it is done).
_QUEUE: dict[str, Any] = {
    "queue_position": {**_nullable(_ID), "description":
                       "0 while being graded; n when n - 1 runs wait ahead of it"},
    "estimated_wait_s": {**_nullable(_NUM), "description":
                         "seconds until it is likely graded (null: done, or delayed)"},
    "grading_delayed": {"type": "boolean", "description":
                        "no grader can take it now (queue unreachable or no worker alive); "
                        "it is stored and graded once they are back"},
}
_TIME = _nullable({"type": "string", "format": "date-time"})
_PAGE_PARAMS = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
    {"name": "offset", "in": "query",
     "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}},
]
_AUTH_ERRORS = {
    "401": _error("Missing, unknown or revoked token."),
    "403": _error("The token lacks the scope, or the user the role."),
}
_NOT_FOUND = {"404": _error("No such object, or not visible to the caller.")}
_BAD = {"400": _error("Invalid input.")}


def _path_id(name: str) -> dict[str, Any]:
    # Ids in paths are positive 32-bit integers (grader.converters.MAX_ID).
    schema = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    return {"name": name, "in": "path", "required": True, "schema": schema}


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": _STR, "message": _STR},
            }
        },
    },
    "User": {
        "type": "object",
        "required": ["id", "email", "name", "lms_user_id"],
        "properties": {"id": _ID, "email": _STR, "name": _STR, "lms_user_id": _nullable(_STR)},
    },
    "Assignment": {
        "type": "object",
        "required": ["id", "slug", "title", "course_id", "due_at", "max_score", "url"],
        "properties": {
            "id": _ID,
            "slug": _STR,
            "title": _STR,
            "course_id": _ID,
            "due_at": _TIME,
            "max_score": _NUM,
            "part_points": {"type": "object", "additionalProperties": _NUM},
            "attempt_limit": _nullable(_ID),
            "counts": {"enum": ["best", "latest"]},
            "late_penalty_per_day": _NUM,
            "late_cutoff_days": _nullable(_NUM),
            "feedback_before_due": {"type": "boolean"},
            "url": {"type": "string", "format": "uri"},
        },
    },
    "Part": {
        "type": "object",
        "description": "One part, as in GradeResult.to_dict()['parts'].",
        "required": [
            "name",
            "score",
            "max_score",
            "status",
            "diagnoses",
            "feedback",
            "counterexample",
            "output",
            "cases_passed",
            "cases_total",
        ],
        "properties": {
            "name": _STR,
            "score": _NUM,
            "max_score": _NUM,
            "status": {"enum": ["passed", "failed", "error", "timeout", "memory", "missing"]},
            "diagnoses": {"type": "array", "items": _STR},
            "feedback": _STR,
            "counterexample": _nullable(_STR),
            "output": _STR,
            "cases_passed": _ID,
            "cases_total": _ID,
        },
    },
    "Submission": {
        "type": "object",
        "required": [
            "id",
            "url",
            "status",
            "score",
            "max_score",
            "parts",
            "attempt",
            "late",
            "seed",
            "created_at",
        ],
        "properties": {
            "id": _ID,
            "url": {"type": "string", "format": "uri"},
            "assignment_id": _ID,
            "student": _ref("User"),
            "status": {"enum": list(STATUSES)},
            "score": _nullable(_NUM),
            "max_score": _NUM,
            "parts": {"type": "array", "items": _ref("Part")},
            "feedback": _STR,
            "feedback_hidden": {"type": "boolean"},
            "attempt": _nullable(_ID),
            "late": {"type": "boolean"},
            "days_late": _NUM,
            "seed": _ID,
            "sha256": _STR,
            "filename": _STR,
            "created_at": _TIME,
            "graded_at": _TIME,
            "sandbox_level": _nullable(_STR),
            "timings": {"type": "object", "additionalProperties": _NUM},
            **_QUEUE,
        },
    },
    "SubmissionAccepted": {
        "type": "object",
        "required": ["id", "url", "status"],
        "properties": {
            "id": _ID,
            "url": {"type": "string", "format": "uri"},
            "status": {"const": "queued"},
            **_QUEUE,
        },
    },
    "Grade": {
        "type": "object",
        "required": ["student", "score", "submission_id", "attempts", "late"],
        "properties": {
            "student": _ref("User"),
            "section": _STR,
            "score": _nullable(_NUM),
            "submission_id": _nullable(_ID),
            "attempts": _ID,
            "late": {"type": "boolean"},
        },
    },
    "RosterEntry": {
        "type": "object",
        "required": ["email"],
        "additionalProperties": False,
        "properties": {
            "email": _STR,
            "name": _STR,
            "lms_user_id": _nullable(_STR),
            "section": _STR,
        },
    },
    "RosterResult": {
        "type": "object",
        "required": ["course_id", "created", "updated", "unchanged", "enrolled", "students"],
        "properties": {
            "course_id": _ID,
            "created": _ID,
            "updated": _ID,
            "unchanged": _ID,
            "enrolled": _ID,
            "students": {"type": "array", "items": _ref("User")},
        },
    },
    "RegradeAccepted": {
        "type": "object",
        "required": ["id", "url", "runs", "preview"],
        "properties": {
            "id": _ID,
            "url": {"type": "string", "format": "uri"},
            "runs": _ID,
            "preview": {"type": "boolean"},
        },
    },
    "Regrade": {
        "type": "object",
        "required": [
            "id",
            "assignment_id",
            "preview",
            "runs_total",
            "runs_pending",
            "done",
            "students",
        ],
        "properties": {
            "id": _ID,
            "assignment_id": _ID,
            "preview": {"type": "boolean"},
            "reason": _STR,
            "requested_by": _nullable(_ID),
            "created_at": _TIME,
            "runs_total": _ID,
            "runs_pending": _ID,
            "done": {"type": "boolean"},
            "students": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["student", "before", "after", "changed"],
                    "properties": {
                        "student": _ref("User"),
                        "before": _nullable(_NUM),
                        "after": _nullable(_NUM),
                        "changed": {"type": "boolean"},
                    },
                },
            },
        },
    },
}

PATHS: dict[str, Any] = {
    "/health": {
        "get": {
            "summary": "Health check",
            "security": [],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["status", "database", "broker", "workers"],
                        "properties": {
                            "status": {"enum": ["ok", "degraded"]},
                            "database": {"type": "object", "properties": {
                                "ok": {"type": "boolean"}}},
                            "broker": {"type": "object", "properties": {
                                "ok": {"type": "boolean"}}},
                            "workers": {"type": "object", "properties": {
                                "alive": _nullable({"type": "boolean"}),
                                "processes": _nullable(_ID)}},
                        },
                    },
                    "The web process answers (always 200, a readiness probe); the body says "
                    "whether the database and the broker answer and any worker is alive "
                    "(null: the broker did not answer).",
                )
            },
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "security": [],
            "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")},
        }
    },
    "/assignments": {
        "get": {
            "summary": "Assignments of the caller's courses",
            "parameters": _PAGE_PARAMS,
            "responses": {
                "200": _json(_page("Assignment"), "A page of assignments."),
                **_BAD,
                **_AUTH_ERRORS,
            },
        }
    },
    "/assignments/{assignment_id}": {
        "get": {
            "summary": "One assignment",
            "parameters": [_path_id("assignment_id")],
            "responses": {
                "200": _json(_ref("Assignment"), "The assignment."),
                **_AUTH_ERRORS,
                **_NOT_FOUND,
            },
        }
    },
    "/assignments/{assignment_id}/submissions": {
        "post": {
            "summary": "Upload a submission (scope submissions:write)",
            "description": "Instructors name the student by email or LMS user id; students "
            "submit for themselves. Grading is asynchronous: poll the url.",
            "parameters": [_path_id("assignment_id")],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {
                                "file": {
                                    "type": "string",
                                    "format": "binary",
                                    "description": "A UTF-8 .py file, at most 256 KiB.",
                                },
                                "student": _STR,
                            },
                        }
                    }
                },
            },
            "responses": {
                "202": _json(_ref("SubmissionAccepted"), "Stored and queued for grading."),
                **_BAD,
                **_AUTH_ERRORS,
                **_NOT_FOUND,
                "409": _error("Attempt limit reached, or past the late cutoff."),
                "413": _error("File too large."),
                "422": _error("Unknown or unenrolled student."),
            },
        },
        "get": {
            "summary": "Submissions of an assignment, newest first (scope results:read)",
            "parameters": [
                _path_id("assignment_id"),
                *_PAGE_PARAMS,
                {"name": "student", "in": "query", "schema": _STR},
            ],
            "responses": {
                "200": _json(
                    _page("Submission"), "A page of submissions (without per-part results)."
                ),
                **_BAD,
                **_AUTH_ERRORS,
                **_NOT_FOUND,
                "422": _error("Unknown or unenrolled student."),
            },
        },
    },
    "/assignments/{assignment_id}/grades": {
        "get": {
            "summary": "Counted score per enrolled student (scope grades:read)",
            "parameters": [
                _path_id("assignment_id"),
                *_PAGE_PARAMS,
                {"name": "format", "in": "query", "schema": {"enum": ["json", "csv"]}},
            ],
            "responses": {
                "200": {
                    "description": "JSON pages, or with format=csv a Canvas gradebook import "
                    "file (Student, ID, SIS User ID, SIS Login ID, Section, "
                    "'Title (id)'; a Points Possible row first).",
                    "content": {
                        "application/json": {
                            "schema": {
                                "allOf": [
                                    _page("Grade"),
                                    {"type": "object", "properties": {"max_score": _NUM}},
                                ]
                            }
                        },
                        "text/csv": {"schema": _STR},
                    },
                },
                **_BAD,
                **_AUTH_ERRORS,
                **_NOT_FOUND,
            },
        }
    },
    "/assignments/{assignment_id}/regrades": {
        "post": {
            "summary": "Grade every submission again (scope regrades:write)",
            "parameters": [_path_id("assignment_id")],
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"preview": {"type": "boolean"}, "reason": _STR},
                        }
                    }
                }
            },
            "responses": {
                "202": _json(_ref("RegradeAccepted"), "Regrade queued."),
                **_BAD,
                **_AUTH_ERRORS,
                **_NOT_FOUND,
            },
        }
    },
    "/regrades/{regrade_id}": {
        "get": {
            "summary": "A regrade's progress and before -> after per student (scope grades:read)",
            "parameters": [_path_id("regrade_id")],
            "responses": {
                "200": _json(_ref("Regrade"), "The regrade report."),
                **_AUTH_ERRORS,
                **_NOT_FOUND,
            },
        }
    },
    "/courses/{course_id}/roster": {
        "put": {
            "summary": "Upsert students and enroll them (scope roster:write)",
            "description": "Matches by LMS user id, then email. Students missing from the "
            "roster stay enrolled.",
            "parameters": [_path_id("course_id")],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["students"],
                            "properties": {
                                "students": {"type": "array", "items": _ref("RosterEntry")}
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": _json(_ref("RosterResult"), "What changed."),
                **_BAD,
                **_AUTH_ERRORS,
                **_NOT_FOUND,
                "409": _error("An email or LMS id belongs to someone else."),
            },
        }
    },
    "/submissions/{submission_id}": {
        "get": {
            "summary": "A submission with its grade and per-part results (scope results:read)",
            "parameters": [_path_id("submission_id")],
            "responses": {
                "200": _json(_ref("Submission"), "The submission."),
                **_AUTH_ERRORS,
                **_NOT_FOUND,
            },
        }
    },
}


def openapi_document() -> dict[str, Any]:
    """The document, with this server's URL."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "autograde API",
            "version": "1",
            "description": "Upload submissions, read grades and sync rosters. Authenticate "
            "with 'Authorization: Bearer <token>' (`autograde token create`). "
            'Errors are {"error": {"code": ..., "message": ...}}.',
        },
        "servers": [{"url": request.host_url.rstrip("/") + "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": PATHS,
    }
