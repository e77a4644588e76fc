"""The test suite on every Python that setup.cfg claims: ``nox`` (all of them) or ``nox -s tests-3.13``.

Each session installs spikingnn with its test extra into a fresh virtualenv of that interpreter and runs the
README's test command. Arguments after ``--`` go to pytest (``.ci/run`` passes ``-m "not slow"`` for the oldest
and newest versions, which skips only the long end-to-end runs; every physics, kernel and model-file test runs).
"""
import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]     # keep in step with setup.cfg's classifiers and python_requires

nox.options.sessions = ["tests"]


@nox.session(python=PYTHONS)
def tests(session):
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", "-q", *session.posargs)
