"""The [web] table, refusing to serve an open console beyond loopback, proxies and accounts."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from web_support import AGENT, QUICK_HASHER, SECRET, Console, build_console

from issuecore.cli import EXIT_USAGE, main
from issuecore.config import parse_config
from issuecore.errors import ConfigError
from issuecore.web import WebSettings, check_exposure, is_loopback, web_settings
from issuecore.web._accounts import AccountFile
from issuecore.web._accounts import main as accounts_main


def settings_of(text: str, tmp_path: Path | None = None) -> WebSettings:
    return web_settings(parse_config(text, source="site.toml", base=tmp_path or Path("/srv")))


# --- the [web] table ----------------------------------------------------------------------


def test_without_a_web_table_the_console_listens_on_loopback_without_auth() -> None:
    settings = settings_of("")
    assert (settings.host, settings.port, settings.authenticated) == ("127.0.0.1", 8080, False)
    assert settings.session_lifetime == timedelta(hours=8)
    assert settings.contact_form is False


def test_the_web_table_is_read() -> None:
    settings = settings_of(
        '[web]\nhost = "0.0.0.0"\nport = 9000\naccounts = "agents.json"\n'
        'session_lifetime = "30m"\nsecure_cookies = true\n'
        'secret_key = "' + "ab" * 32 + '"\n'
    )
    assert settings.host == "0.0.0.0"
    assert settings.port == 9000
    assert settings.accounts == Path("/srv/agents.json")
    assert settings.session_lifetime == timedelta(minutes=30)
    assert settings.secure_cookies is True
    assert settings.secret_key == bytes.fromhex("ab" * 32)
    assert settings.authenticated


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("colour = 1", "site.toml: web.colour: unknown key; known here: host, port"),
        ("port = 0", "web.port: must be a whole number from 1 to 65535, got 0"),
        ("port = 65536", "web.port: must be a whole number from 1 to 65535, got 65536"),
        ('session_lifetime = "soon"', "web.session_lifetime: 'soon' is not a duration"),
        ('secret_key = "abcd"', "web.secret_key: must hold at least 32 hexadecimal digits"),
        ("secure_cookies = 1", "web.secure_cookies: must be true or false"),
        ('trusted_proxies = ["proxy"]', "web.trusted_proxies: 'proxy' is not an IP address"),
        ('secret_key_env = "NO_SUCH_VARIABLE_HERE"', "NO_SUCH_VARIABLE_HERE is not set"),
        ("secret_key_env = 5", "web.secret_key_env: must name an environment variable"),
        ("host = 5", "web.host: must be a non-empty string"),
        ('host = "  "', "web.host: must be a non-empty string"),
        ('session_lifetime = "0m"', "web.session_lifetime: must be longer than zero"),
        ('trusted_proxies = "127.0.0.1"', "web.trusted_proxies: must be a list of IP addresses"),
        (
            'contact_frame_ancestors = ["*"]',
            'web.contact_frame_ancestors: must be a list of origins like "https://www.example.com"',
        ),
        (
            'contact_frame_ancestors = "https://a.example"',
            "web.contact_frame_ancestors: must be a list of origins",
        ),
        ("contact_limit = 0", "web.contact_limit: must be a whole number from 1 to 10000"),
        ("contact_max_bytes = 999", "web.contact_max_bytes: must be a whole number from 1000"),
    ],
)
def test_a_wrong_web_key_names_itself(line: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings_of(f"[web]\n{line}\n")
    assert problem in str(raised.value)


def test_proxies_origins_and_a_key_from_the_environment_are_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEB_SECRET_FOR_TEST", "ef" * 16)
    settings = settings_of(
        "[web]\n"
        'proxy_user_header = "X-Remote-User"\n'
        'trusted_proxies = ["10.0.0.5", "::1"]\n'
        'contact_frame_ancestors = ["https://www.example.com", "http://localhost:8000"]\n'
        'secret_key_env = "WEB_SECRET_FOR_TEST"\n'
        'contact_window = "2h"\n'
    )
    assert settings.proxy_user_header == "X-Remote-User"
    assert settings.trusted_proxies == ("10.0.0.5", "::1")
    assert settings.contact_frame_ancestors == ("https://www.example.com", "http://localhost:8000")
    assert settings.secret_key == bytes.fromhex("ef" * 16)
    assert settings.contact_window == timedelta(hours=2)
    assert settings.authenticated


def test_the_lowest_and_highest_ports_are_accepted() -> None:
    assert settings_of("[web]\nport = 1\n").port == 1
    assert settings_of("[web]\nport = 65535\n").port == 65535


def test_the_session_key_is_derived_from_the_signing_key_never_equal_to_it() -> None:
    key = "cd" * 32
    settings = settings_of(f'signing_key = "{key}"\n')
    again = settings_of(f'signing_key = "{key}"\n')
    assert settings.secret_key == again.secret_key
    assert settings.secret_key != bytes.fromhex(key)


def test_a_web_table_that_is_no_table_is_refused() -> None:
    with pytest.raises(ConfigError, match="web: must be a table"):
        parse_config('web = "on"\n', source="site.toml")


# --- loopback and exposure ----------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.255.255.254", "::1", "[::1]", "localhost", "LOCALHOST"]
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "128.0.0.1", "example.com", ""]
)
def test_hosts_beyond_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_an_open_console_is_refused_beyond_loopback() -> None:
    with pytest.raises(ConfigError) as raised:
        check_exposure("0.0.0.0", WebSettings(secret_key=SECRET), source="site.toml")
    assert "refusing to serve the console on 0.0.0.0" in str(raised.value)


def test_an_open_console_may_serve_loopback() -> None:
    check_exposure("127.0.0.1", WebSettings(secret_key=SECRET), source="site.toml")


def test_a_console_with_accounts_or_a_proxy_may_serve_any_address() -> None:
    check_exposure("0.0.0.0", WebSettings(secret_key=SECRET, accounts=Path("a.json")), source="s")
    check_exposure(
        "0.0.0.0", WebSettings(secret_key=SECRET, proxy_user_header="X-Remote-User"), source="s"
    )


def test_issuecore_serve_refuses_an_open_console_beyond_loopback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "issuecore.toml"
    config.write_text(f'signing_key = "{"ab" * 32}"\n[web]\nhost = "0.0.0.0"\n')
    code = main(["--config", str(config), "serve"])
    assert code == EXIT_USAGE
    assert "refusing to serve the console on 0.0.0.0" in capsys.readouterr().err


def test_issuecore_serve_refuses_a_host_given_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "issuecore.toml"
    config.write_text(f'signing_key = "{"ab" * 32}"\n')
    code = main(["--config", str(config), "serve", "--host", "192.168.1.10"])
    assert code == EXIT_USAGE
    assert "refusing to serve the console on 192.168.1.10" in capsys.readouterr().err


# --- an open console on loopback ------------------------------------------------------------


@pytest.fixture
def open_console(tmp_path: Path) -> Iterator[Console]:
    yield from build_console(tmp_path, settings=WebSettings(secret_key=SECRET))


def test_an_open_console_acts_as_the_first_agent(open_console: Console) -> None:
    number = open_console.desk.open_issue(subject="x", raised_by="a@x.test", body="b").number
    open_console.post(f"/issues/{number}/note", {"body": "Seen"})
    assert open_console.desk.thread(number)[-1].author == AGENT


def test_an_open_console_answers_only_loopback_host_names(open_console: Console) -> None:
    response = open_console.client.get("/issues", headers={"host": "evil.example"})
    assert response.status_code == 400
    assert open_console.client.get("/issues", headers={"host": "127.0.0.1"}).status_code == 200


def test_an_open_console_still_demands_the_csrf_token(open_console: Console) -> None:
    number = open_console.desk.open_issue(subject="x", raised_by="a@x.test", body="b").number
    response = open_console.client.post(f"/issues/{number}/act", data={"action": "close"})
    assert response.status_code == 403


# --- a reverse proxy's user -----------------------------------------------------------------


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[Console]:
    settings = WebSettings(
        secret_key=SECRET, proxy_user_header="X-Remote-User", trusted_proxies=("testclient",)
    )
    yield from build_console(tmp_path, settings=settings)


def test_the_proxys_user_is_signed_in(proxied: Console) -> None:
    response = proxied.client.get("/issues", headers={"X-Remote-User": "cleo@example.com"})
    assert response.status_code == 200
    assert "cleo@example.com" in response.text


def test_without_the_proxys_header_nobody_is_signed_in(proxied: Console) -> None:
    assert proxied.client.get("/issues", follow_redirects=False).status_code == 303


def test_the_header_from_an_untrusted_address_is_ignored(tmp_path: Path) -> None:
    settings = WebSettings(
        secret_key=SECRET, proxy_user_header="X-Remote-User", trusted_proxies=("127.0.0.1",)
    )
    for console in build_console(tmp_path, settings=settings):
        response = console.client.get(
            "/issues", headers={"X-Remote-User": AGENT}, follow_redirects=False
        )
        assert response.status_code == 303


# --- the accounts file ----------------------------------------------------------------------


def test_an_account_verifies_only_its_own_password(tmp_path: Path) -> None:
    accounts = AccountFile(tmp_path / "a.json", hasher=QUICK_HASHER)
    accounts.set_password("Ben@Example.com", "a long password")
    assert accounts.verify("ben@example.com", "a long password") == "ben@example.com"
    assert accounts.verify("ben@example.com", "a long passwore") is None
    assert accounts.verify("eve@example.com", "a long password") is None


def test_the_file_holds_argon2_hashes_never_the_password(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    AccountFile(path, hasher=QUICK_HASHER).set_password(AGENT, "a long password")
    text = path.read_text()
    assert "a long password" not in text
    assert json.loads(text)["agents"][AGENT].startswith("$argon2id$")
    assert path.stat().st_mode & 0o077 == 0


def test_a_password_of_nine_characters_is_too_short_and_ten_enough(tmp_path: Path) -> None:
    accounts = AccountFile(tmp_path / "a.json", hasher=QUICK_HASHER)
    with pytest.raises(ValueError, match="at least 10 characters"):
        accounts.set_password(AGENT, "x" * 9)
    accounts.set_password(AGENT, "x" * 10)
    assert accounts.addresses() == [AGENT]


def test_removing_an_account(tmp_path: Path) -> None:
    accounts = AccountFile(tmp_path / "a.json", hasher=QUICK_HASHER)
    accounts.set_password(AGENT, "a long password")
    assert accounts.remove(AGENT)
    assert not accounts.remove(AGENT)
    assert accounts.verify(AGENT, "a long password") is None


def test_a_broken_accounts_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('{"agents": ["ben"]}')
    with pytest.raises(ConfigError, match="agents: must be an object"):
        AccountFile(path).verify(AGENT, "whatever")


def test_a_file_that_is_no_json_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="is not an accounts file"):
        AccountFile(path).addresses()


def test_an_account_needs_an_address(tmp_path: Path) -> None:
    accounts = AccountFile(tmp_path / "a.json", hasher=QUICK_HASHER)
    for wrong in ("ben", "ben @example.com", ""):
        with pytest.raises(ValueError, match="is not an address"):
            accounts.set_password(wrong, "a long password")
    assert not accounts


def test_the_accounts_command_refuses_a_short_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert accounts_main([str(tmp_path / "a.json"), "add", AGENT]) == 2
    assert "at least 10 characters" in capsys.readouterr().err


def test_the_accounts_command_adds_lists_and_removes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "a.json"
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert accounts_main([str(path), "add", AGENT]) == 0
    assert AccountFile(path).verify(AGENT, "a long password") == AGENT
    assert accounts_main([str(path), "list"]) == 0
    assert AGENT in capsys.readouterr().out
    assert accounts_main([str(path), "remove", AGENT]) == 0
    assert accounts_main([str(path), "remove", AGENT]) == 1


# --- built on the public API ------------------------------------------------------------------


def test_the_console_imports_no_private_module_of_the_library() -> None:
    import ast

    import issuecore.web

    folder = Path(issuecore.web.__file__).parent
    imported = set()
    for source in folder.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    library = {name for name in imported if name.startswith("issuecore")}
    assert {"issuecore", "issuecore.config"} <= library
    private = {
        name
        for name in library
        if not name.startswith("issuecore.web.")
        and any(part.startswith("_") for part in name.split("."))
    }
    assert private == set()


def test_the_web_table_of_the_docs_is_read_as_documented() -> None:
    docs = Path(__file__).parents[2] / "docs" / "web.md"
    block = docs.read_text().split("```toml\n[web]\n", 1)[1].split("```", 1)[0]
    settings = settings_of("[web]\n" + block)
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.accounts == Path("/srv/agents.json")
    assert settings.session_lifetime == timedelta(hours=8)
    assert settings.contact_form is False
    assert (settings.contact_limit, settings.contact_window) == (5, timedelta(hours=1))


def test_the_commented_web_table_of_the_template_reads_back_when_uncommented() -> None:
    from issuecore.config import config_template

    lines = config_template(signing_key=b"k" * 32).splitlines()
    start = lines.index("# [web]")
    block = []
    for line in lines[start:]:
        if not line.startswith("# "):
            break
        block.append(line[2:])
    settings = settings_of("\n".join(block) + "\n")
    assert settings.accounts == Path("/srv/agents.json")
    assert settings.proxy_user_header == "X-Remote-User"
    assert settings.port == 8080
