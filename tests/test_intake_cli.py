"""ingest, rejects and replay from the command line (separate processes, like a scheduled job)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.intake_builders import reference_data, scoping_request, submission, write_jsonl
from tests.test_cli import dealdesk


def test_ingest_prints_its_summary_and_rejects_and_replay_work_from_the_command(tmp_path: Path):
    home, landing = tmp_path / "home", tmp_path / "landing"
    assert dealdesk(home, "migrate").returncode == 0
    request = scoping_request()
    early = submission(scoping_request_id=request["event_id"])
    wrong = submission({"deal.region": "atlantis"})
    write_jsonl(landing, "1.jsonl", [*reference_data(), early, wrong])

    ingested = dealdesk(home, "ingest", "--landing", str(landing), "--format", "json")
    assert ingested.returncode == 0, ingested.stderr
    summary = json.loads(ingested.stdout)
    assert (summary["lines_read"], summary["accepted"], summary["rejected"]) == (6, 4, 2)

    listed = dealdesk(home, "rejects")
    assert "deal.region [one_of]" in listed.stdout and "'atlantis'" in listed.stdout
    assert "known_scoping_request" in listed.stdout
    as_json = [json.loads(line) for line in dealdesk(home, "rejects", "--format", "json").stdout.splitlines()]
    assert {r["event_id"] for r in as_json} == {early["event_id"], wrong["event_id"]}
    assert "(0 rows)" in dealdesk(home, "rejects", "--since", "2999-01-01").stdout

    write_jsonl(landing, "2.jsonl", [request])
    assert dealdesk(home, "ingest", "--landing", str(landing)).returncode == 0
    replayed = dealdesk(home, "replay", early["event_id"])
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.startswith("replay   1 document in: 1 accepted, 0 rejected; rows written: ")
    still_open = [
        json.loads(line)["event_id"]
        for line in dealdesk(home, "rejects", "--format", "json").stdout.splitlines()
    ]
    assert still_open == [wrong["event_id"]]

    unknown = dealdesk(home, "replay", "no-such-event")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: not in rejected_documents: no-such-event"
