"""The fake model streams well-formed answers: the official SDKs rebuild exactly what it logs."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anthropic
import openai
import pytest
import requests

from support.fake_model import COMMAND, FINAL_TEXT, FakeModel, serving

BASH = {
    "name": "Bash",
    "description": "Run a command",
    "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
}
EXEC = {
    "type": "function",
    "name": "exec_command",
    "description": "Run a command",
    "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}},
}


@pytest.fixture
def model() -> Iterator[FakeModel]:
    with serving() as server:
        yield server


def answers(model: FakeModel) -> list[dict]:
    return [
        e["answer"]
        for e in requests.get(model.url + "/_requests", timeout=5).json()
        if "answer" in e
    ]


def sdk_message(message: anthropic.types.Message) -> dict:
    """The SDK's Message as a dict, without the `stop_details` it adds when none was sent."""
    return {k: v for k, v in message.to_dict().items() if k != "stop_details"}


def test_anthropic_sdk_rebuilds_the_tool_call_turn_the_fake_model_logs(model: FakeModel) -> None:
    with anthropic.Anthropic(base_url=model.url, api_key="sk-ant-fake", max_retries=0) as client:
        with client.messages.stream(
            model="claude-x",
            max_tokens=100,
            tools=[BASH],
            thinking={"type": "enabled", "budget_tokens": 50},
            messages=[{"role": "user", "content": "say hi"}],
        ) as stream:
            message = stream.get_final_message()
    assert sdk_message(message) == answers(model)[0]
    assert [b.type for b in message.content] == ["thinking", "text", "tool_use"]
    assert message.content[2].input["command"] == COMMAND
    assert message.stop_reason == "tool_use"


def test_anthropic_tool_result_turn_ends_with_a_final_text(model: FakeModel) -> None:
    history = [
        {"role": "user", "content": "say hi"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}}],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "hi"}],
        },
    ]
    with anthropic.Anthropic(base_url=model.url, api_key="sk-ant-fake", max_retries=0) as client:
        with client.messages.stream(
            model="claude-x", max_tokens=100, tools=[BASH], messages=history
        ) as stream:
            message = stream.get_final_message()
    assert sdk_message(message) == answers(model)[0]
    assert (message.stop_reason, message.content[-1].text) == ("end_turn", FINAL_TEXT)


def test_anthropic_title_call_gets_json_that_fits_its_schema(model: FakeModel) -> None:
    schema = {"type": "object", "properties": {"title": {"type": "string"}}}
    with anthropic.Anthropic(base_url=model.url, api_key="sk-ant-fake", max_retries=0) as client:
        message = client.messages.create(
            model="claude-x",
            max_tokens=100,
            messages=[{"role": "user", "content": "t"}],
            extra_body={"output_config": {"format": {"type": "json_schema", "schema": schema}}},
        )
    assert set(json.loads(message.content[-1].text)) == {"title"}


def test_openai_sdk_rebuilds_the_function_call_turn_the_fake_model_logs(model: FakeModel) -> None:
    with openai.OpenAI(base_url=model.url + "/v1", api_key="sk-fake", max_retries=0) as client:
        with client.responses.stream(
            model="gpt-x",
            tools=[EXEC],
            include=["reasoning.encrypted_content"],
            input=[{"role": "user", "content": "say hi"}],
        ) as stream:
            response = stream.get_final_response()
    answer = answers(model)[0]
    assert response.to_dict(exclude_none=True)["output"] == answer["output"]  # no `parsed`
    assert [i.type for i in response.output] == ["reasoning", "message", "function_call"]
    assert json.loads(response.output[2].arguments) == {"cmd": COMMAND}
    assert response.usage.output_tokens == answer["usage"]["output_tokens"]


@pytest.mark.parametrize("output_type", ["function_call_output", "custom_tool_call_output"])
def test_responses_tool_output_turn_ends_with_a_final_message(
    model: FakeModel, output_type: str
) -> None:
    call = {"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": "{}"}
    result = {
        "type": output_type,
        "call_id": "c1",
        "output": "hi"
        if output_type == "function_call_output"
        else [{"type": "input_text", "text": "hi"}],
    }
    body = {
        "model": "gpt-x",
        "stream": True,
        "tools": [EXEC],
        "input": [{"role": "user", "content": "say hi"}, call, result],
    }
    requests.post(model.url + "/v1/responses", json=body, timeout=10).close()
    (answer,) = answers(model)
    assert [i["type"] for i in answer["output"]] == ["message"]
    assert answer["output"][0]["content"][0]["text"] == FINAL_TEXT


def test_codex_code_mode_gets_a_javascript_exec_call(model: FakeModel) -> None:
    extra = {
        "type": "additional_tools",
        "role": "developer",
        "tools": [
            {
                "type": "namespace",
                "name": "functions",
                "tools": [{"type": "custom", "name": "exec", "format": {"type": "grammar"}}],
            }
        ],
    }
    body = {"model": "gpt-x", "stream": True, "input": [extra, {"role": "user", "content": "hi"}]}
    requests.post(model.url + "/v1/responses", json=body, timeout=10).close()
    (answer,) = answers(model)
    call = answer["output"][-1]
    assert (call["type"], call["name"]) == ("custom_tool_call", "exec")
    assert COMMAND in call["input"]
