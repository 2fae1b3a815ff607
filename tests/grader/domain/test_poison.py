"""Poison runs, on the database alone (both backends): text no database can hold is stored with
U+FFFD in its place, and a run whose lease keeps expiring without a result is given up as a
grader error after MAX_LOST_LEASES instead of being re-enqueued forever."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.domain import jobs, runs
from grader.domain.storable import REPLACEMENT, storable, storable_json
from grader.domain.submissions import create_submission
from grader.engine.result import GradeResult, PartResult
from grader.extensions import db
from grader.models import Assignment, GradingRun, PartResultRow, Submission, User, utcnow
from tests.conftest import World

#: Any text, with the characters no database can hold (NUL, lone surrogates) made common.
ANY_TEXT = st.lists(
    st.one_of(
        st.text(st.characters(exclude_categories=[]), max_size=8),  # surrogates included
        st.sampled_from(["\x00", "\ud800", "\udfff", "\udc80", "\ufffd"]),
    ),
    max_size=6,
).map("".join)


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield


def upload(world: World, filename: str = "hw.py", student: int = 0) -> tuple[int, int]:
    """A committed submission and its queued run (the enqueue request taken off the session)."""
    assignment = db.session.get_one(Assignment, world.assignment_id)
    who = db.session.get_one(User, world.student_ids[student])
    submission = create_submission(db.session, assignment, who, filename, "x = 1\n")
    (registered,) = jobs.take(db.session).runs
    db.session.commit()
    assert registered[0] == submission.id
    return registered


def graded(text: str, key: str) -> GradeResult:
    """A graded result carrying ``text`` in every string the student can influence."""
    part = PartResult(
        name="softmax", score=4.0, max_score=10.0, status="failed", diagnoses=[text],
        feedback=f"raised ValueError: {text}", counterexample=f"softmax({text!r})",
        output=text, cases_passed=4, cases_total=10,
    )
    return GradeResult(
        assignment="softmax-backprop", seed=7, score=4.0, max_score=10.0, status="graded",
        feedback=text, parts=[part], sandbox_level=f"full {text}", output=text,
        timings={key: 1.0, "run": 2.0},
    )


class TestStorable:
    def test_replaces_nul_and_lone_surrogates(self) -> None:
        """NUL and every surrogate become U+FFFD; everything else is kept as it was."""
        assert storable("a\x00b\ud800c\udfffd") == f"a{REPLACEMENT}b{REPLACEMENT}c{REPLACEMENT}d"
        text = "ünïcödé ✓ \U0001f600 \t\n\x01\x7f"
        assert storable(text) == text

    def test_json_keys_and_nested_values(self) -> None:
        assert storable_json({"k\x00": ["\ud800", {"\udc00": 1.5}], "n": None}) == {
            f"k{REPLACEMENT}": [REPLACEMENT, {REPLACEMENT: 1.5}], "n": None}

    def test_cut_to_a_column_length(self) -> None:
        assert storable("\x00" * 300, 100) == REPLACEMENT * 100


@pytest.mark.usefixtures("ctx")
class TestPoisonText:
    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(text=ANY_TEXT, key=ANY_TEXT, filename=ANY_TEXT)
    def test_any_text_ends_graded(self, world: World, text: str, key: str,
                                  filename: str) -> None:
        """Whatever text the student puts in output, messages, dict keys and the file name,
        the submission ends graded with that text stored (U+FFFD where the database could not
        hold a character), its attempt charged once."""
        submission_id, run_id = upload(world, filename=f"{filename}.py")
        token = runs.claim_run(db.session, run_id, "w1", 30)
        assert token
        assert runs.record_result(db.session, run_id, token, graded(text, key),
                                  error=f"trace {text}")
        db.session.commit()
        db.session.expire_all()
        submission = db.session.get_one(Submission, submission_id)
        run = db.session.get_one(GradingRun, run_id)
        (part,) = db.session.scalars(sa.select(PartResultRow).where(PartResultRow.run_id == run_id))
        clean = storable(text)
        assert (submission.status, submission.score) == ("graded", 4.0)
        assert submission.attempt is not None
        assert (run.status, run.output, run.feedback, run.error) == (
            "graded", clean, clean, f"trace {clean}")
        assert run.timings[storable(key)] == 1.0 or storable(key) == "run"
        assert (part.output, part.diagnoses, part.feedback) == (
            clean, [clean], f"raised ValueError: {clean}")
        assert part.counterexample == storable(f"softmax({text!r})")
        assert "\x00" not in submission.filename

    def test_storable_text_is_kept_exactly(self, world: World) -> None:
        """Text a database can hold is not touched (the replacement is only for what it can't)."""
        text = "naïve ∑ ✓ \U0001f600 \\x00 \\ud800"
        _, run_id = upload(world)
        token = runs.claim_run(db.session, run_id, "w1", 30)
        assert token and runs.record_result(db.session, run_id, token, graded(text, "k"))
        db.session.commit()
        db.session.expire_all()
        assert db.session.get_one(GradingRun, run_id).output == text


def expire(run_id: int, owner: str = "dead", k: int = 3) -> str | None:
    """Claim the run as a worker that then dies: its lease is already over."""
    token = runs.claim_run(db.session, run_id, owner, -1, max_lost_leases=k)
    db.session.commit()
    return token


@pytest.mark.usefixtures("ctx")
class TestLostLeases:
    def test_expired_leases_are_counted_not_claims(self, world: World) -> None:
        """A retry after our own error claims again but loses no lease; a dead worker's does."""
        _, run_id = upload(world)
        token = runs.claim_run(db.session, run_id, "w1", 30)
        assert token and runs.release_for_retry(db.session, run_id, token, "boom")
        token = runs.claim_run(db.session, run_id, "w1", 30, now=utcnow() - timedelta(hours=1))
        assert token
        assert runs.claim_run(db.session, run_id, "w2", 30)
        db.session.commit()
        run = db.session.get_one(GradingRun, run_id)
        assert (run.claims, run.retries, run.lost_leases) == (3, 1, 1)

    def test_kth_expired_lease_at_claim_is_a_grader_error(self, world: World) -> None:
        """The third lease lost (default K) ends the run as grader_error: reason kept for
        instructors, no attempt charged, nothing left to grade."""
        submission_id, run_id = upload(world)
        assert expire(run_id, "host:1")
        assert expire(run_id, "host:2")
        assert expire(run_id, "host:3")
        assert runs.claim_run(db.session, run_id, "host:4", 30) is None
        db.session.commit()
        run = db.session.get_one(GradingRun, run_id)
        submission = db.session.get_one(Submission, submission_id)
        assert (run.status, run.lost_leases, run.claims) == ("grader_error", 3, 4)
        assert "expired 3 times" in run.error and "host:3" in run.error
        assert "MAX_LOST_LEASES" in run.error
        assert (submission.status, submission.attempt, submission.score) == (
            "grader_error", None, None)
        assert runs.claim_run(db.session, run_id, "host:5", 30) is None

    def test_sweep_gives_up_at_the_kth_expired_lease(self, world: World) -> None:
        """The sweeper re-enqueues a dead worker's run, counting the lost lease, and gives it
        up (sending nothing) when the count reaches K."""
        submission_id, run_id = upload(world)
        for expected in (1, 2):
            assert expire(run_id)
            assert runs.sweep(db.session, 120, max_lost_leases=3) == [(submission_id, run_id)]
            assert jobs.take(db.session).runs == [(submission_id, run_id)]
            db.session.commit()
            assert db.session.get_one(GradingRun, run_id).lost_leases == expected
        assert expire(run_id)
        assert runs.sweep(db.session, 120, max_lost_leases=3) == []
        assert not jobs.take(db.session).runs
        db.session.commit()
        run = db.session.get_one(GradingRun, run_id)
        assert (run.status, run.lost_leases) == ("grader_error", 3)
        assert db.session.get_one(Submission, submission_id).attempt is None

    def test_k_comes_from_the_caller(self, world: World) -> None:
        """K = 1 gives up at the first lease lost; K = 5 keeps trying after three."""
        _, first = upload(world)
        assert expire(first)
        assert runs.sweep(db.session, 120, max_lost_leases=1) == []
        _, second = upload(world, student=1)
        for _ in range(4):
            assert expire(second, k=5)
        assert runs.claim_run(db.session, second, "w", 30, max_lost_leases=5)
        db.session.commit()
        assert db.session.get_one(GradingRun, first).status == "grader_error"
        assert db.session.get_one(GradingRun, second).lost_leases == 4
        assert db.session.get_one(GradingRun, second).status == "running"

    def test_earlier_error_is_kept_in_the_reason(self, world: World) -> None:
        _, run_id = upload(world)
        token = runs.claim_run(db.session, run_id, "w1", 30)
        assert token and runs.release_for_retry(db.session, run_id, token, "RunnerError: boom")
        db.session.commit()
        assert expire(run_id)
        assert runs.claim_run(db.session, run_id, "w", 30, max_lost_leases=1) is None
        db.session.commit()
        assert "RunnerError: boom" in db.session.get_one(GradingRun, run_id).error

    def test_later_worker_cannot_record_over_a_given_up_run(self, world: World) -> None:
        """The worker that was merely slow finds its lease gone: one result, never two."""
        _, run_id = upload(world)
        slow = expire(run_id)
        assert slow
        assert runs.claim_run(db.session, run_id, "w", 30, max_lost_leases=1) is None
        assert not runs.record_result(db.session, run_id, slow, graded("x", "k"))
        db.session.commit()
        assert db.session.get_one(GradingRun, run_id).status == "grader_error"


@pytest.mark.usefixtures("ctx")
class TestUnsent:
    def test_sweep_sends_a_run_the_broker_never_got_at_once(self, world: World) -> None:
        """A run marked unsent (the broker was down at upload) is sent by the next sweep,
        without waiting QUEUED_STALE_SECONDS."""
        pair = upload(world)
        assert runs.sweep(db.session, 120) == []
        runs.mark_unsent(db.session, [pair[1]])
        db.session.commit()
        assert runs.sweep(db.session, 120) == [pair]
        db.session.commit()
        assert db.session.get_one(GradingRun, pair[1]).enqueued_at is not None
        assert runs.sweep(db.session, 120) == []
