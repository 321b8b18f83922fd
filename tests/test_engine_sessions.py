"""Stopping one engine leaves the others of the process working: the client library's default
session (the first one created) moves to a session still serving, whichever engine stopped."""

from __future__ import annotations

from pyspark.sql.connect.session import SparkSession as ConnectSession

from dealdesk.lakehouse import engine
from dealdesk.lakehouse.gateway import Lakehouse


def test_stopping_the_engine_that_started_first_gives_the_default_session_to_the_one_still_serving(
    shared_lakehouse: Lakehouse,
):
    local = shared_lakehouse.spark
    _, port = engine._LOCAL.server.listening_address  # type: ignore[union-attr]
    # as when another engine's session was the process's first: it holds the default
    ConnectSession._default_session = None
    ConnectSession._active_session.session = None
    other = engine.connect(f"sc://127.0.0.1:{port}")
    engine._REMOTE.session, engine._REMOTE.catalog, engine._REMOTE.key = other, "other", "x"
    assert ConnectSession.getActiveSession() is other
    engine.stop_engine("remote")
    assert ConnectSession.getActiveSession() is local
    assert ConnectSession._default_session is local
    assert shared_lakehouse.collect(shared_lakehouse.sql("SELECT 1 AS one")) == [{"one": 1}]
