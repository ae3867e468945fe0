"""Search, mentions and opening a conversation at a message, in a real browser.

A new user searches a word of an old message (beyond the first page of the history,
which another user filled over the HTTP API), opens the result from the keyboard, sees
that message highlighted, scrolls down to the newest page and sends; the mentions view
lists a mention and opens it; a digest email's link (/c/<id>?message=<id>) opens the
conversation at its message. Run once, in the SQLite pass, like tests/test_web_browser.py.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.test_web_browser import (
    DESKTOP,
    api_user,
    chromium,
    expect,
    free_port,
    register,
    send,
    serve,
    shoot,
)

pytestmark = pytest.mark.sqlite_only


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose send limit lets a test fill a history of 80 messages at once."""
    cwd = tmp_path_factory.mktemp("web-search-serve")
    with serve(cwd, free_port(), {"HUBBUB_SEND_BURST": "200"}) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium()


def conversation(base: str, auth: dict[str, str], body: dict[str, Any]) -> str:
    made = httpx.post(base + "/conversations", headers=auth, json=body)
    assert made.status_code == 201, made.text
    return str(made.json()["conversation"]["id"])


def history(base: str, auth: dict[str, str], conv: str, texts: list[str]) -> list[str]:
    """Send `texts` in order over HTTP; their message ids."""
    ids = []
    with httpx.Client(base_url=base, headers=auth) as http:
        for text in texts:
            r = http.post(f"/conversations/{conv}/messages", json={"content": text})
            assert r.status_code == 201, r.text
            ids.append(r.json()["message"]["id"])
    return ids


def row(page: Any, message_id: str) -> Any:
    return page.get_by_test_id("message-list").locator(
        f"[data-testid=message][data-id='{message_id}']"
    )


def scroll_to_newest(page: Any, last_id: str) -> None:
    """Scroll the history down page after page until the newest message shows."""
    for _ in range(20):
        if row(page, last_id).count():
            break
        page.get_by_test_id("message-list").evaluate("el => { el.scrollTop = el.scrollHeight }")
        page.wait_for_timeout(150)
    expect(row(page, last_id)).to_be_visible()


@pytest.fixture
def people(server: str, browser: Any) -> Iterator[tuple[Any, dict[str, str], str, str]]:
    """A new user in the browser (Nora), another over the API (Bob): page, auth, ids, tag."""
    tag = secrets.token_hex(3)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        register(page, server, f"nora_{tag}", "Nora")
        bob = api_user(server, f"bob_{tag}", "Bob")
        auth = {"Authorization": f"Bearer {bob['token']}"}
        nora = httpx.get(server + "/users/search", params={"q": f"nora_{tag}"}, headers=auth)
        nora_id = nora.json()["users"][0]["id"]
        yield page, auth, nora_id, tag
    finally:
        context.close()


def test_a_search_result_opens_an_old_message_and_the_view_returns_to_the_present(
    server: str, people: tuple[Any, dict[str, str], str, str]
) -> None:
    page, auth, nora_id, tag = people
    word = f"lighthouse{tag}"
    direct = conversation(server, auth, {"type": "PRIVATE", "participantIds": [nora_id]})
    texts = [f"note {i}" for i in range(80)]
    texts[10] = f"the {word} keeper waves from the rocks, {'far ' * 30}away"
    ids = history(server, auth, direct, texts)
    # Coming back later: the page holds none of these messages.
    page.reload()
    expect(page.locator("[data-testid=conversation][data-title='Bob']")).to_be_visible()

    page.keyboard.press("Control+k")
    box = page.get_by_test_id("search-box")
    expect(box).to_be_focused()
    box.fill(f"{word} zebra")
    expect(page.get_by_test_id("search-empty")).to_contain_text("No messages match")
    box.fill("note")
    # 79 messages match: 20 a page, newest first, then the next older page.
    expect(page.get_by_test_id("search-result")).to_have_count(20)
    expect(page.get_by_test_id("search-result").first).to_contain_text("note 79")
    page.get_by_test_id("search-more").click()
    expect(page.get_by_test_id("search-result")).to_have_count(40)
    expect(page.get_by_test_id("search-result").last).to_contain_text("note 40")
    box.fill(word.upper())
    result = page.get_by_test_id("search-result")
    expect(result).to_have_count(1)
    expect(result).to_contain_text("Bob")
    expect(result.locator("mark")).to_have_text(word)
    shoot(page, "search-results")

    box.press("ArrowDown")
    expect(result).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("chat-title")).to_have_text("Bob")
    assert page.url.endswith(f"/c/{direct}?message={ids[10]}")
    target = row(page, ids[10])
    expect(target).to_be_visible()
    expect(target).to_have_attribute("data-highlighted", "true")
    expect(target).to_be_in_viewport()
    # Only the history around it is loaded: the newest messages are not.
    expect(page.get_by_test_id("jump-newest")).to_be_visible()
    assert page.get_by_text("note 79", exact=True).count() == 0
    shoot(page, "search-opened")

    scroll_to_newest(page, ids[-1])
    expect(page.get_by_test_id("jump-newest")).to_have_count(0)
    send(page, f"back at the present {tag}")
    sent = page.get_by_test_id("message").filter(has_text=f"back at the present {tag}")
    expect(sent).to_have_attribute("data-status", re.compile("SENT|DELIVERED|READ"))
    # Every message between the window and the present is there once, in order.
    shown = page.get_by_test_id("message-list").get_by_test_id("message-text").all_inner_texts()
    assert shown[-2:] == ["note 79", f"back at the present {tag}"]


def test_mentions_and_a_digest_link_open_the_conversation_at_the_message(
    server: str, people: tuple[Any, dict[str, str], str, str]
) -> None:
    page, auth, nora_id, tag = people
    group = conversation(
        server, auth, {"type": "GROUP", "name": f"crew {tag}", "participantIds": [nora_id]}
    )
    texts = [f"chatter {i}" for i in range(70)]
    ids = history(server, auth, group, texts[:5])
    mentioned = httpx.post(
        server + f"/conversations/{group}/messages",
        headers=auth,
        json={"content": f"@nora_{tag} can you ship it?", "mentions": [nora_id]},
    )
    assert mentioned.status_code == 201, mentioned.text
    mention_id = mentioned.json()["message"]["id"]
    ids += history(server, auth, group, texts[5:])
    page.reload()

    page.get_by_test_id("tab-mentions").click()
    item = page.get_by_test_id("mention")
    expect(item).to_have_count(1)
    expect(item).to_contain_text(f"crew {tag}")
    expect(item).to_contain_text("can you ship it?")
    page.emulate_media(color_scheme="dark")
    shoot(page, "mentions-dark")
    item.press("Enter")
    expect(page.get_by_test_id("chat-title")).to_have_text(f"crew {tag}")
    expect(row(page, mention_id)).to_have_attribute("data-highlighted", "true")
    shoot(page, "mention-opened-dark")
    expect(page.get_by_test_id("jump-newest")).to_be_visible()

    # The link of a digest email, opened in the page as a new load.
    page.goto(f"{server}/c/{group}?message={ids[2]}")
    expect(page.get_by_test_id("chat-title")).to_have_text(f"crew {tag}")
    expect(row(page, ids[2])).to_have_attribute("data-highlighted", "true")
    page.get_by_test_id("jump-newest").click()
    expect(row(page, ids[-1])).to_be_visible()
    expect(page.get_by_test_id("jump-newest")).to_have_count(0)
