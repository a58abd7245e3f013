"""The models page (AppTest): an endpoint with its key from an environment variable, a real
connection test over a loopback OpenAI-compatible server, error boxes for an unreachable
port, a bad URL or an unset key variable, and the mind of each classroom role."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from agents.classroom import ModelEndpoint, RoleMinds
from agents.models.fake_server import FakeOpenAIServer, Scripted

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
KEY = "sk-test-0123456789abcdef"


def models_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    return at.switch_page("views/models.py").run()


def fill(at: AppTest, url: str, model: str, key_env: str = "") -> AppTest:
    at.text_input[0].input(url)
    at.text_input[1].input(model)
    at.text_input[2].input(key_env)
    return at


def button(at: AppTest, label: str) -> AppTest:
    (found,) = [b for b in at.button if b.label == label]
    return found.click().run()


def page_text(at: AppTest) -> str:
    """Every piece of text on the page, widgets' values included."""
    parts = [
        str(getattr(e, "value", ""))
        for kind in ("markdown", "success", "error", "warning", "caption", "text_input")
        for e in at.get(kind)
    ]
    return "\n".join(parts)


@pytest.mark.allow_model_requests
def test_a_connection_test_over_a_real_loopback_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LYCEUM_TEST_KEY", KEY)
    with FakeOpenAIServer(lambda body: Scripted(text="ok"), models=("tiny",)) as server:
        at = fill(models_page(), server.base_url, "tiny", "LYCEUM_TEST_KEY")
        button(at, "Test connection")
        assert not at.exception and not at.error and not at.warning
        (success,) = at.success
        assert success.value.startswith(
            "Connected (and saved): asked 'Reply with one word: ok.', tiny answered 'ok' in "
        )
        (post,) = server.requests  # the server records POSTs; GET /models listed "tiny"
        assert post.path == "/v1/chat/completions" and post.body["model"] == "tiny"
        assert post.headers["Authorization"] == f"Bearer {KEY}"
        assert at.session_state["lyceum"].endpoint == ModelEndpoint(
            base_url=server.base_url, model="tiny", api_key_env="LYCEUM_TEST_KEY"
        )
    assert KEY not in page_text(at)


@pytest.mark.allow_model_requests
def test_a_model_the_server_does_not_list_is_a_warning() -> None:
    with FakeOpenAIServer(models=("other",)) as server:
        at = button(fill(models_page(), server.base_url, "tiny"), "Test connection")
    assert not at.exception and not at.error
    assert at.warning[0].value.endswith("does not serve 'tiny' (it serves: other)")
    assert at.success[0].value.startswith("Connected (and saved):")


@pytest.mark.allow_model_requests
def test_an_unreachable_port_is_an_error_box() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    at = button(fill(models_page(), f"http://127.0.0.1:{port}/v1", "tiny"), "Test connection")
    assert not at.exception
    (error,) = at.error
    assert error.value.startswith(
        f"cannot reach the endpoint: nothing answers at http://127.0.0.1:{port}/v1/models"
    )
    assert error.value.endswith("Check the URL (it ends in /v1) and the port.")


@pytest.mark.parametrize(
    ("url", "model", "key_env", "message"),
    [
        ("localhost:8000", "tiny", "", "Invalid input: base_url: must be an http(s) URL of an"),
        ("http://127.0.0.1:9/v1", "", "", "Invalid input: model: String should have at least"),
        ("http://127.0.0.1:9/v1", "tiny", "MY KEY", "Invalid input: api_key_env: String should"),
        (
            "http://127.0.0.1:9/v1",
            "tiny",
            "LYCEUM_UNSET_KEY_VARIABLE",
            "the environment variable LYCEUM_UNSET_KEY_VARIABLE (api_key_env) is not set",
        ),
    ],
)
def test_bad_input_is_an_error_box(url: str, model: str, key_env: str, message: str) -> None:
    at = button(fill(models_page(), url, model, key_env), "Test connection")
    assert not at.exception
    (error,) = at.error
    assert error.value.startswith(message)


def test_each_role_s_mind_is_kept_per_browser_session() -> None:
    one, two = models_page(), models_page()
    one.radio(key="models_mind_teacher").set_value("llm").run()
    assert one.session_state["lyceum"].minds == RoleMinds(teacher="llm")
    assert one.error[0].value.startswith("Teacher: LLM chosen but no endpoint is saved")
    button(fill(one, "http://127.0.0.1:9/v1", "tiny"), "Save")
    assert not one.error
    assert one.caption[-1].value == (
        "On the LLM: Teacher, Teaching assistant, Classmates (all four). "
        "Everything else is simulated."
    )
    one.radio(key="models_mind_classmates").set_value("simulated").run()
    assert one.session_state["lyceum"].minds == RoleMinds(teacher="llm", classmates="simulated")
    assert one.caption[-1].value.startswith("On the LLM: Teacher, Teaching assistant.")
    two.run()
    assert two.session_state["lyceum"].minds == RoleMinds()
    assert two.session_state["lyceum"].endpoint is None
    assert two.caption[-1].value.startswith("Every role is simulated")


def test_the_classroom_page_uses_the_endpoint_and_minds_chosen_here() -> None:
    at = button(fill(models_page(), "http://127.0.0.1:9/v1", "tiny"), "Save")
    at.radio(key="models_mind_teacher").set_value("simulated").run()
    at.switch_page("views/classroom.py").run()
    assert not at.exception
    (caption,) = [c.value for c in at.caption if c.value.startswith("Minds:")]
    assert caption.startswith(
        "Minds: teacher simulated, teaching assistant llm, classmates llm "
        "on tiny at http://127.0.0.1:9/v1."
    )


@pytest.mark.allow_model_requests
def test_credentials_in_the_url_are_never_shown() -> None:
    secret = "s3cret-token-0123456789"
    at = button(fill(models_page(), f"http://me:{secret}@127.0.0.1:9/v1", "tiny"), "Save")
    assert at.success[0].value.startswith("Saved: tiny at http://me:")
    shown = [e.value for kind in ("success", "error", "warning", "caption") for e in at.get(kind)]
    assert not any(secret in text for text in shown)
    button(at, "Test connection")
    (error,) = at.error
    assert error.value.startswith("cannot reach the endpoint") and secret not in error.value
