"""adapters/kit/wire_errors.py: a refusal written as one line; an answer's refusal read
with the platform's parser, else made of the HTTP status."""

from __future__ import annotations

from typing import Any

import httpx

from syncledger.adapters.kit.wire_errors import Refusal, refusal_in


def _coded(body: Any) -> Refusal | None:
    return Refusal(str(body["code"]), str(body["msg"])) if "code" in body else None


def test_a_refusal_reads_as_code_message_and_where_leaving_out_what_it_lacks() -> None:
    assert Refusal("1012", "not found", "email").text() == "1012 not found (email)"
    assert Refusal("44", "too many").text() == "44 too many"
    assert Refusal("", "no credentials").text() == "no credentials"


def test_the_body_says_the_refusal_when_the_parser_finds_one() -> None:
    answer = httpx.Response(400, json={"code": 7, "msg": "bad tax"})
    assert refusal_in(answer, _coded) == Refusal("7", "bad tax")


def test_without_a_refusal_in_the_body_the_status_says_it() -> None:
    not_json = httpx.Response(502, text="<html>gateway</html>")
    no_code = httpx.Response(404, json={"other": 1})
    assert refusal_in(not_json, _coded) == Refusal("502", "Bad Gateway")
    assert refusal_in(no_code, _coded, code="") == Refusal("", "Not Found")
