"""The Celery soft and hard task time limits are enforced by the pool production runs (prefork, one process):
at the soft limit the task gets SoftTimeLimitExceeded, at the hard one its process is killed, and the worker goes
on with the next task. (The solo pool runs tasks inline and could enforce neither.)"""

import subprocess
import sys

import pytest

from .test_processes import BASE_DIR, Robot, robot_env, wait_for  # noqa: F401 - robot_env is a fixture

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
WORKER_POOL = ("--pool", "prefork", "--concurrency", "1")  # as in Procfile, deploy/staging.py and the systemd unit


def send(robot: Robot, name: str, *args) -> None:
    code = (
        "import sys; from tradingrobot.celery import app; "
        f"app.send_task({name!r}, args={list(args)!r}, queue=sys.argv[1])"
    )
    subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code, robot.env["CELERY_QUEUE"]], cwd=BASE_DIR, env=robot.env, check=True, timeout=60
    )


@pytest.fixture
def limited_robot(robot_env, tmp_path):  # noqa: F811 - the fixture imported above
    env = {**robot_env, "CELERY_TASK_SOFT_TIME_LIMIT": "2", "CELERY_TASK_TIME_LIMIT": "4"}
    running = Robot(env, tmp_path)
    yield running
    running.stop()


def test_soft_then_hard_limit_stop_a_task_and_the_worker_goes_on(limited_robot, tmp_path):
    queue = limited_robot.env["CELERY_QUEUE"]
    log = limited_robot.start(
        "worker", "celery", "-A", "tradingrobot", "worker", *WORKER_POOL, "-Q", queue,
        "--include", "tests.ops.slow_tasks", "--loglevel", "INFO",
    )  # fmt: skip
    slow, after = tmp_path / "slow", tmp_path / "after"
    send(limited_robot, "tests.ops.sleep_past_limits", str(slow), 30)
    send(limited_robot, "tests.ops.touch", str(after))

    assert wait_for(lambda: slow.exists(), timeout=60), log.read_text()
    assert slow.read_text() == "soft"
    assert wait_for(lambda: after.exists(), timeout=30), log.read_text()
    assert slow.read_text() == "soft", "the task ran past the hard limit"
    assert "Hard time limit (4s) exceeded" in log.read_text()


def test_every_worker_command_uses_a_pool_that_enforces_limits():
    for path in ("Procfile", "Procfile.demo", "deploy/staging.py", "deploy/systemd/tradingrobot-worker@.service"):
        text = (BASE_DIR / path).read_text()
        assert "--pool solo" not in text, path
        assert "--pool prefork --concurrency 1" in text, path
