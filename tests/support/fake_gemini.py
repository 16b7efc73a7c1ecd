"""A fake Gemini API on a real socket: scripted generations served whole or streamed both ways.

A generation is written once, as the response `generateContent` returns (`CASES`); `chunks`
streams it the way Gemini does (text cut into pieces, a text part's `thoughtSignature` on a
trailing empty part, other parts whole, candidates interleaved, `finishReason` and the final
`usageMetadata` and `safetyRatings` on a candidate's last chunk). The server answers
`POST /{v1beta,v1}/models/{model}:generateContent` with it, `:streamGenerateContent?alt=sse`
as SSE and `:streamGenerateContent` as a JSON array sent piece by piece. A model named
`case-<name>` plays `CASES[name]`; any other plays a one-tool agent for Gemini CLI (calls
`run_shell_command` when offered, then a final text; the router call, which asks for JSON, gets
a complexity score; an agent answer's `responseId` is a hash of its request). `cut-<name>`
breaks the connection halfway through the stream, and `error-<name>` sends an error object after
the first chunk; `slow-<name>` waits 3 s first.
`GET /_requests` lists what came, each with the `answer` its reply stands for.
Run: `python -m tests.support.fake_gemini --port N`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from contextlib import AbstractContextManager
from http.server import BaseHTTPRequestHandler
from typing import Any

from .fake_server import FakeServer, serve_main, serving_in_thread

Json = dict[str, Any]
COMMAND = "echo hello-from-tool"
FINAL_TEXT = "Done: the tool printed hello-from-tool."
SIGNATURE = "c2lnbmF0dXJlLW9uZQ=="
META = {"modelVersion": "gemini-fake-001", "responseId": "resp-fake-1"}
USAGE = {
    "promptTokenCount": 12,
    "candidatesTokenCount": 30,
    "totalTokenCount": 42,
    "thoughtsTokenCount": 7,
}
SAFE = [{"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"}]
STREAM_ERROR = {
    "error": {"code": 500, "message": "An internal error has occurred.", "status": "INTERNAL"}
}


def _candidate(
    parts: list[Json] | None, finish: str = "STOP", index: int = 0, **extra: Any
) -> Json:
    candidate: Json = {}
    if parts is not None:
        candidate["content"] = {"parts": parts, "role": "model"}
    candidate.update(finishReason=finish, index=index, **extra)
    return candidate


def _response(*candidates: Json, **extra: Any) -> Json:
    return {"candidates": list(candidates), "usageMetadata": USAGE, **META, **extra}


CASES: dict[str, Json] = {
    "text": _response(_candidate([{"text": "Hello there, this is a plain answer.\nTwo lines."}])),
    "thinking": _response(
        _candidate(
            [
                {"text": "Let me think about the greeting first.", "thought": True},
                {
                    "text": "Hi! Here is the answer after some thought.",
                    "thoughtSignature": SIGNATURE,
                },
            ]
        )
    ),
    "signed_thought_then_text": _response(
        _candidate(
            [
                {"text": "Thinking, signed.", "thought": True, "thoughtSignature": "dGhvdWdodA=="},
                {"text": "Answer one.", "thoughtSignature": "YW5zd2VyMQ=="},
                {"text": "Answer two, unsigned."},
            ]
        )
    ),
    "parallel_calls": _response(
        _candidate(
            [
                {"text": "Checking two cities.", "thought": True},
                {
                    "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                    "thoughtSignature": SIGNATURE,
                },
                {"functionCall": {"name": "get_weather", "args": {"city": "Oslo", "unit": "C"}}},
            ]
        )
    ),
    "code_execution": _response(
        _candidate(
            [
                {"text": "I will compute it."},
                {"executableCode": {"language": "PYTHON", "code": "print(sum(range(10)))\n"}},
                {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "45\n"}},
                {"text": "The sum is 45."},
            ]
        )
    ),
    "candidates": _response(
        _candidate([{"text": "First candidate's answer is here."}], index=0, safetyRatings=SAFE),
        _candidate(
            [{"text": "Second candidate, a longer different answer."}],
            index=1,
            finish="MAX_TOKENS",
            safetyRatings=SAFE,
        ),
    ),
    "safety": _response(
        _candidate(
            None,
            finish="SAFETY",
            safetyRatings=[
                {
                    "category": "HARM_CATEGORY_DANGEROUS_CONTENT",
                    "probability": "HIGH",
                    "blocked": True,
                }
            ],
        )
    ),
    "safety_midway": _response(
        _candidate(
            [{"text": "Some text came before the stop."}],
            finish="SAFETY",
            safetyRatings=[
                {"category": "HARM_CATEGORY_HARASSMENT", "probability": "MEDIUM", "blocked": True}
            ],
        )
    ),
    "malformed_call": _response(
        _candidate(
            None,
            finish="MALFORMED_FUNCTION_CALL",
            finishMessage="Malformed function call: print(default_api.get_weather(city=)",
        )
    ),
    "citations": _response(
        _candidate(
            [{"text": "Quoted text from a well known source, cited."}],
            citationMetadata={
                "citationSources": [
                    {"startIndex": 0, "endIndex": 11, "uri": "https://example.com/a"}
                ]
            },
            groundingMetadata={"webSearchQueries": ["source"]},
        )
    ),
}


def _pieces(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _part_pieces(part: Json) -> list[Json]:
    """How one part of the whole response arrives over the stream."""
    if not (
        isinstance(part.get("text"), str) and part.keys() <= {"text", "thought", "thoughtSignature"}
    ):
        return [part]
    flags = {"thought": True} if part.get("thought") else {}
    pieces = [{"text": piece, **flags} for piece in _pieces(part["text"])]
    if "thoughtSignature" in part:
        pieces.append({"text": "", **flags, "thoughtSignature": part["thoughtSignature"]})
    return pieces


def _candidate_chunks(candidate: Json) -> list[Json]:
    parts = candidate.get("content", {}).get("parts")
    finals = {k: v for k, v in candidate.items() if k != "content"}
    if parts is None:
        return [finals]
    pieces = [piece for part in parts for piece in _part_pieces(part)]
    out: list[Json] = []
    for n, piece in enumerate(pieces):
        chunk: Json = {"content": {"parts": [piece], "role": "model"}, "index": finals["index"]}
        if "safetyRatings" in finals:  # early ratings, replaced by the last chunk's
            chunk["safetyRatings"] = [
                {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "LOW"}
            ]
        if n == len(pieces) - 1:
            chunk.update(finals)
        out.append(chunk)
    return out


def chunks(response: Json) -> list[Json]:
    """The stream of `response`: candidates interleaved, response fields on every chunk (the
    usage growing, its final value on the last chunk)."""
    per = [_candidate_chunks(c) for c in response.get("candidates", [])]
    out: list[Json] = []
    longest = max((len(p) for p in per), default=0)
    for n in range(longest):
        for candidate_chunks in per:
            if n < len(candidate_chunks):
                out.append(
                    {
                        "candidates": [candidate_chunks[n]],
                        "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12},
                        **{
                            k: v
                            for k, v in response.items()
                            if k not in ("candidates", "usageMetadata")
                        },
                    }
                )
    if not out:
        out.append({k: v for k, v in response.items() if k != "usageMetadata"})
    out[-1]["usageMetadata"] = response["usageMetadata"]
    return copy.deepcopy(out)


def sse_pieces(items: list[Json]) -> list[bytes]:
    return [b"data: " + json.dumps(item).encode() + b"\r\n\r\n" for item in items]


def array_pieces(items: list[Json]) -> list[bytes]:
    """Google's layout: `[{...}` then `,\\r\\n{...}` per element, then `]`."""
    body = [b"[" + json.dumps(items[0], indent=2).encode()] if items else [b"["]
    body += [b",\r\n" + json.dumps(item, indent=2).encode() for item in items[1:]]
    return [*body, b"]"]


# ---- the agent Gemini CLI talks to ------------------------------------------------------------


def _offers(body: Json, name: str) -> bool:
    for tool in body.get("tools") or []:
        for decl in tool.get("functionDeclarations") or []:
            if decl.get("name") == name:
                return True
    return False


def agent_turn(body: Json) -> Json:
    """A tool call first, a final text after a functionResponse; JSON for the router call."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
    return {**_agent_answer(body), "responseId": f"resp-agent-{digest}"}


def _agent_answer(body: Json) -> Json:
    config = body.get("generationConfig") or {}
    if config.get("responseMimeType") == "application/json":
        text = json.dumps({"complexity_reasoning": "A small task.", "complexity_score": 10})
        return _response(_candidate([{"text": text}]))
    contents = body.get("contents") or []
    last = contents[-1] if contents else {}
    answered = any("functionResponse" in p for p in last.get("parts") or [])
    if _offers(body, "run_shell_command") and not answered:
        return _response(
            _candidate(
                [
                    {"text": "I should run the command.", "thought": True},
                    {
                        "functionCall": {
                            "name": "run_shell_command",
                            "args": {"command": COMMAND, "description": "Say hello"},
                        },
                        "thoughtSignature": SIGNATURE,
                    },
                ]
            )
        )
    return _response(_candidate([{"text": FINAL_TEXT, "thoughtSignature": SIGNATURE}]))


# ---- HTTP -------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeGemini

    def log_message(self, *args: Any) -> None:
        pass

    def _send(
        self, status: int, content_type: str, pieces: list[bytes], *, cut: bool = False
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for piece in pieces:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
        if cut:
            self.close_connection = True
            self.wfile.write(b"5\r\nda")  # a chunk that never ends, then the socket closes
            self.wfile.flush()
            return
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        with self.server.lock:
            log = list(self.server.log)
        data = json.dumps(log if self.path == "/_requests" else {"models": []}).encode()
        self._send(200, "application/json", [data])

    def do_POST(self) -> None:  # noqa: N802
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path, _, query = self.path.partition("?")
        body = json.loads(raw or b"{}")
        entry: Json = {"path": self.path, "headers": dict(self.headers), "body": body}
        with self.server.lock:
            self.server.log.append(entry)
        model, _, method = path.rpartition("/")[2].partition(":")
        if method == "countTokens":
            return self._send(200, "application/json", [b'{"totalTokens": 5}'])
        kind, _, name = model.partition("-")
        if kind == "slow":
            time.sleep(3)
        if kind in ("case", "cut", "error", "slow") and name in CASES:
            answer = CASES[name]
        else:
            kind, answer = "agent", agent_turn(body)
        entry["answer"] = answer
        if method == "generateContent":
            return self._send(200, "application/json", [json.dumps(answer).encode()])
        items = chunks(answer)
        if kind == "error":
            items = [*items[:1], STREAM_ERROR]
        sse = "alt=sse" in query.split("&")
        pieces = sse_pieces(items) if sse else array_pieces(items)
        if kind == "error" and not sse:
            pieces = pieces[:-1] + [b"]"]
        if kind == "cut":
            pieces = pieces[: len(pieces) // 2]
        content_type = "text/event-stream" if sse else "application/json"
        self._send(200, content_type, pieces, cut=kind == "cut")


class FakeGemini(FakeServer):
    handler = Handler

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up (the tests cut streams on purpose)


def serving(port: int = 0) -> AbstractContextManager[FakeGemini]:
    """The fake Gemini in a background thread of this process."""
    return serving_in_thread(FakeGemini, port)


def main(argv: list[str] | None = None) -> int:
    return serve_main(FakeGemini, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    raise SystemExit(main())
