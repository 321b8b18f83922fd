"""Query results on a terminal: a value never reaches it as a control character (table), and the
formats for programs give every value back exactly (json, csv)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from dealdesk.cli.output import render

C0 = [chr(c) for c in range(0x20)]
C1 = [chr(c) for c in range(0x80, 0xA0)]
CONTROLS = [*C0, "\x7f", *C1]
NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape(char: str) -> str:
    return NAMED.get(char, f"\\x{ord(char):02x}")


@pytest.mark.parametrize("char", CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_the_table_shows_every_control_character_as_a_visible_escape(char: str):
    lines = render(["value"], [[f"a{char}b"]]).split("\n")
    assert len(lines) == 4 and not any(char in line for line in lines)
    assert lines[2] == f"a{escape(char)}b"


def test_a_terminal_sequence_in_a_cell_cannot_recolour_or_move_the_cursor():
    hostile = "\x1b[31mred\x1b[0m\x1b[2J\x1b[H\rover\x08\x9b1A\x07"
    text = render(["name", "note"], [["Acme", hostile], ["Beta", "plain"]])
    assert not any(char in text for char in CONTROLS if char != "\n")
    shown = "\\x1b[31mred\\x1b[0m\\x1b[2J\\x1b[H\\rover\\x08\\x9b1A\\x07"
    assert text.split("\n") == [
        "name  note",
        "----  " + "-" * len(shown),
        "Acme  " + shown,
        "Beta  plain",
        "(2 rows)",
    ]


def test_a_line_break_in_a_cell_keeps_the_row_on_one_line():
    text = render(["a", "b"], [["one\ntwo", "x"], ["three\r\nfour", "y"]])
    assert text.split("\n") == [
        "a              b",
        "-------------  -",
        "one\\ntwo       x",
        "three\\r\\nfour  y",
        "(2 rows)",
    ]


def test_control_characters_in_a_column_name_are_escaped_too():
    text = render(["bad\x1b[31mname"], [[1]])
    assert "\x1b" not in text and text.splitlines()[0] == "bad\\x1b[31mname"


def test_nested_values_reach_the_table_with_their_control_characters_escaped():
    text = render(["reasons"], [[[{"message": "bad\x1b[2Jvalue\x9b"}]]])
    assert "\x1b" not in text and "\x9b" not in text
    assert "bad\\u001b[2Jvalue\\u009b" in text


def test_printable_text_is_shown_as_it_is():
    text = render(["name"], [["Café Ünïcode – 日本 ✓ back\\slash"]])
    assert text.splitlines()[2] == "Café Ünïcode – 日本 ✓ back\\slash"


def test_json_lines_hold_no_control_character_and_give_the_values_back():
    values = ["".join(CONTROLS), "\x1b[31mred", "line\nbreak"]
    text = render(["v\x1b"], [[v] for v in values], "json")
    assert not any(char in text for char in CONTROLS if char != "\n")
    assert text.count("\n") == len(values) - 1
    assert [json.loads(line) for line in text.splitlines()] == [{"v\x1b": v} for v in values]


ODD_VALUES = [
    "cr\ronly",
    "lf\nonly",
    "crlf\r\nboth",
    "esc\x1b[31m",
    'comma, quote"',
    "",
    "nul\x00",
    "del\x7f",
]


def test_csv_keeps_every_value_exact_and_a_reader_gets_the_rows_back():
    rows = [[value, str(number)] for number, value in enumerate(ODD_VALUES)]
    text = render(["value", "n"], rows, "csv")
    assert list(csv.reader(io.StringIO(text, newline=""))) == [["value", "n"], *rows]


@pytest.mark.parametrize("value", ["cr\ronly", "lf\nonly", "crlf\r\nboth"])
def test_csv_quotes_every_value_holding_a_line_break(value: str):
    text = render(["value", "n"], [[value, "1"]], "csv")
    assert text == f'value,n\n"{value}",1'


def test_csv_records_end_with_a_plain_newline_and_none_is_empty():
    assert render(["a", "b"], [["x", None], [1, 2.5]], "csv") == "a,b\nx,\n1,2.5"
