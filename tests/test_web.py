"""The web pages (bot.web) over HTTP: the bot's decision, escaping, Open Graph, limits, initData."""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from bot.app.replies import Links
from bot.app.views import passage_view
from bot.cards import CardCache
from bot.config import ConfigError, settings_from_env
from bot.search import QuoteEngine
from bot.web import RateLimit, WebFront
from bot.web.initdata import InvalidInitData, check_init_data, sign
from bot.web.pages import safe_url
from tests.web_harness import serving, write_hostile

TOKEN = "123456:TEST-token_abcdefghijklmnop"
ANSWER, SUGGESTIONS, NOTHING = "RLHF", "Sam怎么看开源模型的风险", "今天天气怎么样"


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def init_data(user_id: int = 42, age: int = 0, token: str = TOKEN, **extra: str) -> str:
    fields = {
        "auth_date": str(int(time.time()) - age),
        "query_id": "AAE",
        "user": json.dumps({"id": user_id, "first_name": "A", "language_code": "en"}),
        **extra,
    }
    fields["hash"] = sign(fields, token)
    return urllib.parse.urlencode(fields)


@pytest.fixture(scope="module")
def sent() -> list[tuple[int, str, str]]:
    return []


@pytest.fixture(scope="module")
def site(engine: QuoteEngine, tmp_path_factory, sent) -> str:
    async def send(user_id: int, passage_id: str, lang: str) -> bool:
        sent.append((user_id, passage_id, lang))
        return True

    front = WebFront(
        engine=lambda: engine,
        cards=CardCache(tmp_path_factory.mktemp("cards")),
        token=TOKEN,
        send=send,
        limit=RateLimit(per_minute=6000, burst=1000),
    )
    with serving(front) as base:
        yield base


# -- the decision is the bot's ------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "status"), [(ANSWER, "answer"), (SUGGESTIONS, "suggestions"), (NOTHING, "none")]
)
def test_api_answers_with_the_engines_decision(site, engine, query, status) -> None:
    code, headers, body = get(f"{site}/api/search?" + urllib.parse.urlencode({"q": query}))
    assert code == 200 and headers["Content-Type"].startswith("application/json")
    data = json.loads(body)
    expected = engine.search(query, 5)
    assert data["status"] == status
    assert [(r["id"], r["confident"]) for r in data["results"]] == [
        (r.passage.id, r.confident) for r in expected
    ]


def test_page_search_marks_suggestions_and_says_nothing_honestly(site) -> None:
    _, _, body = get(f"{site}/c/l367?" + urllib.parse.urlencode({"q": SUGGESTIONS, "lang": "en"}))
    page = body.decode()
    assert 'data-status="suggestions"' in page and "Closest in meaning" in page
    assert page.count('class="hit suggestion"') == 3 and "≈" in page
    _, _, body = get(f"{site}/c/l367?" + urllib.parse.urlencode({"q": NOTHING}))
    assert 'data-status="none"' in body.decode() and "这场对话里没有" in body.decode()


def test_conversation_page_has_every_passage_anchored_and_timed(site, engine) -> None:
    _, _, body = get(f"{site}/c/l367")
    page = body.decode()
    rows = engine.rows_of("l367")
    assert rows is None  # the only conversation
    for row in (0, len(engine.table) // 2, len(engine.table) - 1):
        p = engine.table[row]
        assert f'id="{p.id}"' in page
        assert f'href="https://www.youtube.com/watch?v=L_Guz73e6fw&amp;t={p.at}s"' in page
    assert 'class="turn s1"' in page and 'class="turn s2"' in page  # a colour per speaker
    assert 'class="asked"' in page  # the host's question above answers
    assert "莱克斯·弗里德曼" in page


def test_highlight_is_only_ever_the_passage_asked_for(site) -> None:
    _, _, body = get(f"{site}/c/l367?p=l367-49-1")
    assert 'data-highlight="l367-49-1"' in body.decode()
    _, _, body = get(f"{site}/c/l367?p=l367-99999-0")
    assert "data-highlight" not in body.decode()  # never another passage
    code, _, body = get(f"{site}/app?tgWebAppStartParam=l367-49-1")
    assert code == 200 and 'data-highlight="l367-49-1"' in body.decode()


# -- share pages -----------------------------------------------------------------------


def test_share_page_previews_as_the_card(site, engine) -> None:
    code, _, body = get(f"{site}/q/l367-49-1")
    page = body.decode()
    assert code == 200
    passage = engine.get("l367-49-1")
    assert passage is not None
    assert '<meta property="og:title" content="山姆·奥特曼 · 00:28:49' in page
    assert f'<meta property="og:description" content="{passage.text[:50]}' in page
    image = f"{site}/card/l367-49-1.png"
    assert f'<meta property="og:image" content="{image}">' in page
    code, headers, png = get(image)
    assert code == 200 and headers["Content-Type"] == "image/png"
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


def test_unknown_passage_is_404_with_a_search_box(site) -> None:
    code, _, body = get(f"{site}/q/l367-99999-0")
    assert code == 404
    assert 'role="search"' in body.decode() and "l367-99999-0" in body.decode()
    assert get(f"{site}/card/l367-99999-0.png")[0] == 404
    assert get(f"{site}/c/nope")[0] == 404


# -- safety ------------------------------------------------------------------------------


def test_headers_forbid_inline_and_foreign_script(site) -> None:
    for path in ("/", "/c/l367", "/q/l367-49-1", "/api/search?q=RLHF", "/nowhere"):
        _, headers, _ = get(site + path)
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self' https://telegram.org;" in csp
        assert "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_hostile_transcript_renders_as_text(tmp_path: Path) -> None:
    data = write_hostile(tmp_path / "data")
    hostile = QuoteEngine.load(data, tmp_path / "cache", meaning="off", library_dir=tmp_path / "x")
    front = WebFront(engine=lambda: hostile, cards=CardCache(tmp_path / "cards"))
    with serving(front) as base:
        pages = [
            get(base + path)[2].decode()
            for path in (
                "/",
                "/c/evil",
                "/q/evil-1-0",
                "/q/evil-2-0",
                "/c/evil?q=%E8%84%9A%E6%9C%AC%E6%B3%A8%E5%85%A5",
            )
        ]
    for page in pages:
        assert "<script>window" not in page and "<img src=x" not in page
        assert 'href="javascript' not in page.lower()  # the video URL is not linked
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in pages[1]
    assert "&quot;&gt;&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;" in pages[1]


def test_safe_url_links_only_http() -> None:
    assert safe_url("https://youtu.be/x?t=3") == "https://youtu.be/x?t=3"
    for bad in (
        "javascript:alert(1)",
        " JavaScript:x",
        "data:text/html,x",
        "//evil",
        'https://a/"x',
    ):
        assert safe_url(bad) == ""


def test_query_too_long_is_refused(site) -> None:
    assert get(f"{site}/api/search?q=" + urllib.parse.quote("字" * 501))[0] == 400
    assert get(f"{site}/c/l367?q=" + "a" * 501)[0] == 400


def raw_post(base: str, path: str, headers: dict[str, str], body: bytes = b"") -> int:
    host = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
    conn.putrequest("POST", path)
    for k, v in headers.items():
        conn.putheader(k, v)
    conn.endheaders()
    if body:
        conn.send(body)
    status = conn.getresponse().status
    conn.close()
    return status


def test_posts_are_judged_on_headers_before_the_body(site, sent) -> None:
    # A huge announced body is refused at once: the server never waits for it.
    assert raw_post(site, "/api/send", {"Content-Length": str(10**9)}) == 413
    assert raw_post(site, "/api/send", {"Content-Type": "application/json"}) == 411
    assert raw_post(site, "/api/send", {"Content-Length": "2", "Content-Type": "text/plain"}) == 415
    assert raw_post(site, "/api/search", {"Content-Length": "0"}) == 405
    assert sent == []


def send(site: str, init: str, passage: str = "l367-49-1") -> int:
    body = json.dumps({"initData": init, "passage": passage}).encode()
    return raw_post(
        site,
        "/api/send",
        {"Content-Type": "application/json", "Content-Length": str(len(body))},
        body,
    )


def test_send_needs_valid_init_data(site, sent, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    sent.clear()
    assert send(site, init_data(token="654321:another-bots-token_xyz")) == 403  # forged
    assert send(site, init_data(age=2 * 24 * 3600)) == 403  # expired
    tampered = init_data().replace("%22id%22%3A+42", "%22id%22%3A+43")
    assert send(site, tampered) == 403
    assert send(site, "not initdata") == 403
    assert sent == []
    assert send(site, init_data(user_id=42)) == 200
    assert sent == [(42, "l367-49-1", "en")]
    assert send(site, init_data(), passage="l367-99999-0") == 404
    assert TOKEN not in caplog.text


def test_the_token_is_never_served(site) -> None:
    for path in ("/", "/c/l367", "/q/l367-49-1", "/api/search?q=RLHF", "/static/app.js"):
        _, headers, body = get(site + path)
        assert TOKEN not in body.decode() and TOKEN not in json.dumps(headers)


def test_without_a_token_nothing_user_specific_is_taken(engine, tmp_path) -> None:
    front = WebFront(engine=lambda: engine, cards=CardCache(tmp_path))
    with serving(front) as base:
        assert send(base, init_data()) == 404


# -- initData ----------------------------------------------------------------------------


def test_init_data_check() -> None:
    now = time.time()
    user = check_init_data(init_data(user_id=7), TOKEN, now=now)
    assert user.id == 7 and user.language_code == "en"
    with pytest.raises(InvalidInitData, match="wrong hash"):
        check_init_data(init_data(token="1:other_token_abcdefgh"), TOKEN, now=now)
    with pytest.raises(InvalidInitData, match="expired"):
        check_init_data(init_data(age=3601), TOKEN, max_age=3600, now=now)
    with pytest.raises(InvalidInitData, match="future"):
        check_init_data(init_data(age=-3600), TOKEN, now=now)
    with pytest.raises(InvalidInitData, match="no hash"):
        check_init_data("auth_date=1&user=%7B%7D", TOKEN, now=now)
    with pytest.raises(InvalidInitData, match="twice"):
        check_init_data(init_data() + "&auth_date=1", TOKEN, now=now)
    with pytest.raises(InvalidInitData):
        check_init_data("x" * 5000, TOKEN, now=now)
    with pytest.raises(InvalidInitData):
        check_init_data(init_data(), "", now=now)


def test_init_data_follows_telegrams_documented_scheme() -> None:
    # Computed independently of bot.web.initdata, from the documentation's recipe.
    import hashlib
    import hmac

    fields = {"auth_date": str(int(time.time())), "user": '{"id":5}', "query_id": "Q"}
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    assert check_init_data(urllib.parse.urlencode(fields), TOKEN).id == 5


# -- rate limit ---------------------------------------------------------------------------


def test_rate_limit_per_client() -> None:
    now = [0.0]
    limit = RateLimit(per_minute=60, burst=3, clock=lambda: now[0])
    assert [limit.allow("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limit.allow("a") == pytest.approx(1.0)
    assert limit.allow("b") == 0.0  # another client has its own bucket
    now[0] += 1.0
    assert limit.allow("a") == 0.0


def test_search_api_answers_429_past_the_limit(engine, tmp_path) -> None:
    front = WebFront(
        engine=lambda: engine,
        cards=CardCache(tmp_path),
        limit=RateLimit(per_minute=1, burst=2, clock=lambda: 0.0),
    )
    with serving(front) as base:
        codes = [get(f"{base}/api/search?q=RLHF")[0] for _ in range(3)]
        code, headers, _ = get(f"{base}/api/search?q=RLHF")
    assert codes == [200, 200, 429] and code == 429 and int(headers["Retry-After"]) >= 1


# -- links and settings ------------------------------------------------------------------------


def test_share_links_point_to_the_web_pages(engine) -> None:
    links = Links("QuoteBot", "https://quotes.example.org")
    assert links.share("l367-49-1") == "https://quotes.example.org/q/l367-49-1"
    assert Links("QuoteBot").share("l367-49-1") == "https://t.me/QuoteBot?start=l367-49-1"
    passage = engine.get("l367-49-1")
    assert passage is not None
    reply = passage_view(engine, passage, "zh", links)
    read = reply.buttons[-1][0]
    assert read.text == "📜 全文"
    assert read.web_app == "https://quotes.example.org/c/l367?p=l367-49-1"
    assert read.url == "https://t.me/QuoteBot?startapp=l367-49-1"
    assert "https://quotes.example.org/q/l367-49-1" in reply.html
    plain = passage_view(engine, passage, "en", Links("QuoteBot"))
    assert all(b.web_app is None for row in plain.buttons for b in row)


def test_web_settings(tmp_path) -> None:
    s = settings_from_env(
        {"QUOTEBOT_WEB_URL": "https://q.example.org/", "QUOTEBOT_WEB_LISTEN": "127.0.0.1:8081"}
    )
    assert s.web_url == "https://q.example.org" and s.web_listen == ("127.0.0.1", 8081)
    for env in (
        {"QUOTEBOT_WEB_URL": "http://q.example.org"},
        {"QUOTEBOT_WEB_URL": "javascript:alert(1)"},
        {"QUOTEBOT_WEB_LISTEN": "host.example:8080"},
        {"QUOTEBOT_WEB_LISTEN": "localhost:99999"},
    ):
        with pytest.raises(ConfigError, match=next(iter(env))):
            settings_from_env(env)


async def test_the_webhook_server_serves_the_pages_beside_the_webhook(engine, tmp_path) -> None:
    from tornado.httpclient import AsyncHTTPClient
    from tornado.netutil import bind_sockets

    from bot.web import web_routes
    from handlers.webhook import webhook_app, webhook_server

    front = WebFront(engine=lambda: engine, cards=CardCache(tmp_path))
    app = webhook_app(object(), "hook", "s" * 16, extra_routes=web_routes(front))  # type: ignore[arg-type]
    server = webhook_server(app)
    sockets = bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    base = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
    client = AsyncHTTPClient()
    try:
        page = await client.fetch(f"{base}/q/l367-49-1")
        assert page.code == 200 and b"og:image" in page.body
        hook = await client.fetch(f"{base}/hook", method="POST", body="{}", raise_error=False)
        assert hook.code == 403  # the webhook still wants its secret
    finally:
        server.stop()


def test_quotebot_web_refuses_a_bad_port(capsys) -> None:
    from bot.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["web", "--port", "70000"])
    assert exit_.value.code == 2
    assert "must be between 0 and 65535" in capsys.readouterr().err


def test_rendered_conversation_pages_are_bounded(engine, tmp_path) -> None:
    front = WebFront(engine=lambda: engine, cards=CardCache(tmp_path), max_bodies=1)
    zh = front.body(engine, "l367", "zh")
    assert front.body(engine, "l367", "zh") is zh  # kept
    en = front.body(engine, "l367", "en")
    assert list(front._bodies) == [(id(engine), "l367", "en")] and "Sam Altman" in en
