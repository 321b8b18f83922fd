"""`dealdesk preview` on JSON Lines files: every submission previewed, bad lines reported by
their line number in the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dealdesk.cli.main import main
from dealdesk.cli.workflow import sample_days
from dealdesk.lakehouse.gateway import Lakehouse
from dealdesk.pipeline.preview import BadLine, load_submissions
from tests.intake_builders import submission, user


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def mixed_file(tmp_path: Path) -> Path:
    first, second = submission(), submission({"deal.deal_name": "Second deal"})
    no_tiers = submission({"tiers": []})
    return _write(
        tmp_path / "mixed.jsonl",
        [
            json.dumps(first),  # 1
            "",  # 2
            '{"event_id": "cut", "kind": "deal_submission", ',  # 3: cut off
            json.dumps(user("x@example.com", "seller")),  # 4: another kind
            json.dumps(no_tiers),  # 5: cannot be routed
            "[1, 2]",  # 6: JSON, not an object
            json.dumps(second),  # 7
        ],
    )


def test_load_submissions_keeps_the_good_lines_and_numbers_the_bad_ones(mixed_file: Path):
    found = load_submissions(mixed_file)
    assert [number for number, _ in found.documents] == [1, 5, 7]
    assert found.documents[2][1]["deal"]["deal_name"] == "Second deal"
    assert found.bad_lines == [
        BadLine(3, "not JSON: Expecting property name enclosed in double quotes at column 48"),
        BadLine(6, "not a JSON object"),
    ]
    assert found.other_kinds == 1


def test_a_single_json_document_spread_over_lines_is_one_submission(tmp_path: Path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps(submission(), indent=2))
    found = load_submissions(path)
    assert len(found.documents) == 1 and found.documents[0][0] == 1 and found.bad_lines == []


def test_preview_shows_every_submission_and_reports_bad_lines(
    mixed_file: Path, shared_lakehouse: Lakehouse, capsys
):
    target = shared_lakehouse.target
    code = main(["--home", str(target.home), "--schema", target.schema, "preview", str(mixed_file)])
    out, err = capsys.readouterr()
    assert code == 1
    headings = [line for line in out.splitlines() if line.startswith("== line ")]
    assert [h.split(":")[0] for h in headings] == ["== line 1", "== line 7"]
    assert "Second deal" in headings[1]
    assert out.count("Business approval:") == 2
    assert f"{mixed_file}: line 3: not JSON" in err
    assert f"{mixed_file}: line 5: a submission needs a 'deal' object and at least one tier" in err
    assert f"{mixed_file}: line 6: not a JSON object" in err
    assert "2 submission(s) previewed, 3 bad line(s)" in err


def test_preview_of_the_shipped_sample_file_reports_its_cut_off_line_41(shared_lakehouse: Lakehouse, capsys):
    sample = next(sample_days()[0].glob("*.jsonl"))
    target = shared_lakehouse.target
    code = main(["--home", str(target.home), "--schema", target.schema, "preview", str(sample)])
    out, err = capsys.readouterr()
    assert code == 1
    assert f"{sample}: line 41: not JSON" in err
    assert "line 1 column 51" not in err
    submissions = [
        n
        for n, line in enumerate(sample.read_text().splitlines(), start=1)
        if '"kind": "deal_submission"' in line and n != 41
    ]
    previewed = [
        int(line.split(":")[0].removeprefix("== line "))
        for line in out.splitlines()
        if line.startswith("== line ")
    ]
    bad = [n for n in submissions if f": line {n}: " in err]
    assert sorted(previewed + bad) == submissions
    assert len(previewed) >= 20
